// One Redis SUBSCRIBE per channel, fanned out to this instance's listeners. A driver's socket
// lives all day, and an instance holds tens of thousands of them: each listener costs one Set
// entry here, nothing more (no subscription ids, no per-listener promises or iterators).
//
// ioredis owns the connection: it queues a SUBSCRIBE while the server is away and re-subscribes
// every channel when the connection comes back.
import type { Redis } from 'ioredis';

/**
 * An object rather than a function: a long-lived stream is its own listener, with no closure
 * per subscription.
 */
export interface Listener {
  deliver(message: unknown): void;
}

interface Channel {
  listeners: Set<Listener>;
  /** Resolves once Redis acknowledged the SUBSCRIBE (shared by every listener of the channel). */
  subscribed: Promise<void>;
}

export class ChannelFanOut {
  private readonly channels = new Map<string, Channel>();

  constructor(
    private readonly subscriber: Redis,
    /** Turns a message's JSON back into its payload (e.g. dates). */
    private readonly reviver?: (key: string, value: unknown) => unknown,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
  }

  /**
   * Adds a listener; resolves once the channel's SUBSCRIBE is acknowledged (at once when it
   * already was).
   */
  listen(channelName: string, listener: Listener): Promise<void> {
    let channel = this.channels.get(channelName);
    if (!channel) {
      const subscribed = this.subscriber.subscribe(channelName).then(() => {});
      channel = { listeners: new Set(), subscribed };
      this.channels.set(channelName, channel);
      const created = channel;
      // A SUBSCRIBE that failed is forgotten, so the next listener sends it again.
      subscribed.catch(() => {
        if (this.channels.get(channelName) === created) this.channels.delete(channelName);
      });
    }
    channel.listeners.add(listener);
    return channel.subscribed;
  }

  /** Removes a listener; the last one of a channel unsubscribes it. */
  stopListening(channelName: string, listener: Listener): void {
    const channel = this.channels.get(channelName);
    if (!channel?.listeners.delete(listener) || channel.listeners.size > 0) return;
    this.channels.delete(channelName);
    this.subscriber.unsubscribe(channelName).catch(() => {}); // the connection is gone: so is the subscription
  }

  /** Channels with at least one listener (for tests). */
  get channelCount(): number {
    return this.channels.size;
  }

  private deliver(channelName: string, message: string): void {
    const listeners = this.channels.get(channelName)?.listeners;
    if (!listeners?.size) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message, this.reviver);
    } catch {
      return; // not ours: every publisher of these channels sends JSON
    }
    for (const listener of listeners) listener.deliver(payload);
  }
}
