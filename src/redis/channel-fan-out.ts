// One bus subscription per channel (graphql-redis-subscriptions' RedisPubSub: one Redis SUBSCRIBE,
// the JSON and its reviver), fanned out to this instance's listeners. A driver's socket lives all
// day, and an instance holds tens of thousands of them: each listener costs one Set entry here,
// nothing more (no subscription id, closure, promise or iterator per listener).
//
// ioredis owns the connection: it queues a SUBSCRIBE while the server is away and re-subscribes
// every channel when the connection comes back.
import type { RedisPubSub } from 'graphql-redis-subscriptions';

/**
 * An object rather than a function: a long-lived stream is its own listener, with no closure
 * per subscription.
 */
export interface Listener {
  deliver(message: unknown): void;
}

interface Channel {
  listeners: Set<Listener>;
  /** The engine's subscription id, once Redis acknowledged the SUBSCRIBE (shared by every listener). */
  subscribed: Promise<number>;
}

export class ChannelFanOut {
  private readonly channels = new Map<string, Channel>();

  constructor(private readonly engine: RedisPubSub) {}

  /**
   * Adds a listener; resolves once the channel's SUBSCRIBE is acknowledged (at once when it
   * already was).
   */
  async listen(channelName: string, listener: Listener): Promise<void> {
    let channel = this.channels.get(channelName);
    if (!channel) {
      const listeners = new Set<Listener>();
      const subscribed = this.engine.subscribe(channelName, (message: unknown) => {
        for (const each of listeners) each.deliver(message);
      });
      const created: Channel = { listeners, subscribed };
      channel = created;
      this.channels.set(channelName, created);
      // A SUBSCRIBE that failed is forgotten, so the next listener sends it again.
      subscribed.catch(() => {
        if (this.channels.get(channelName) === created) this.channels.delete(channelName);
      });
    }
    channel.listeners.add(listener);
    await channel.subscribed;
  }

  /** Removes a listener; the last one of a channel unsubscribes it. */
  stopListening(channelName: string, listener: Listener): void {
    const channel = this.channels.get(channelName);
    if (!channel?.listeners.delete(listener) || channel.listeners.size > 0) return;
    this.channels.delete(channelName);
    // The connection may be gone: so is the subscription then.
    channel.subscribed.then((id) => this.engine.unsubscribe(id)).catch(() => {});
  }

  /** Channels with at least one listener (for tests). */
  get channelCount(): number {
    return this.channels.size;
  }
}
