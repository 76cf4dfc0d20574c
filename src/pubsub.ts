// Events between instances: graphql-redis-subscriptions over ioredis. Topic names and payload
// types live here and nowhere else. Redis Pub/Sub is at-most-once (no replay, and a message
// published before SUBSCRIBE is acknowledged is lost), so every pushed fact is also readable by
// query (`ride`, `myOffers`) and clients re-read after (re)subscribing.
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import type { RideView } from './match/ride-view.ts';
import { redisOptionsFromUrl } from './redis/shard-router.ts';

export type RevokeReason = 'TAKEN' | 'CANCELLED' | 'EXPIRED';

export type DriverOfferEvent =
  | { kind: 'offer'; ride: RideView; pickupDistanceKm: number; expiresAt: Date; round: number }
  | { kind: 'revoked'; rideId: string; reason: RevokeReason };

export interface DriverPosition {
  lat: number;
  lng: number;
  at: Date;
}

export interface RideUpdateEvent {
  ride: RideView;
  at: Date;
  /** Why the ride ended without a driver or was cancelled. */
  reason: string | null;
  driverPosition: DriverPosition | null;
}

export const topics = {
  driverOffers: (driverId: string) => `offers:${driverId}`,
  rideUpdates: (rideId: string) => `ride:${rideId}`,
  registryChanged: 'registry-changed',
} as const;

export interface RegistryChange {
  kind: 'driver' | 'rider';
  id: string;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** JSON turns Dates into strings; turn them back so resolvers see the same types as locally. */
const reviveDates = (_key: unknown, value: unknown) =>
  typeof value === 'string' && ISO_DATE.test(value) ? new Date(value) : value;

export class Events {
  readonly engine: RedisPubSub;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;

  constructor(redisUrl: string) {
    const options = { ...redisOptionsFromUrl(redisUrl), retryStrategy: (n: number) => Math.min(n * 100, 1_000) };
    this.publisher = new Redis(options);
    this.subscriber = new Redis(options);
    for (const c of [this.publisher, this.subscriber]) c.on('error', () => {});
    this.engine = new RedisPubSub({ publisher: this.publisher, subscriber: this.subscriber, reviver: reviveDates });
  }

  async ready(): Promise<void> {
    await Promise.all([this.publisher.ping(), this.subscriber.ping()]);
  }

  publishOffer(driverId: string, event: DriverOfferEvent): Promise<void> {
    return this.engine.publish(topics.driverOffers(driverId), event);
  }

  publishRideUpdate(event: RideUpdateEvent): Promise<void> {
    return this.engine.publish(topics.rideUpdates(event.ride.id), event);
  }

  publishRegistryChange(change: RegistryChange): Promise<void> {
    return this.engine.publish(topics.registryChanged, change);
  }

  /**
   * A driver's offers feed: the live offers they hold now, then every new offer or revoke.
   * `current` is read only after Redis acknowledged the SUBSCRIBE, so nothing published in
   * between is lost; an offer both read and received live is delivered once.
   */
  driverOffers(driverId: string, current: () => Promise<DriverOfferEvent[]>): AsyncIterableIterator<DriverOfferEvent> {
    const key = (e: DriverOfferEvent) => (e.kind === 'offer' ? `${e.ride.id}#${e.round}` : null);
    return new CatchUpStream(this.engine, topics.driverOffers(driverId), current, (e, initial) => {
      const k = key(e);
      return k !== null && initial.some((i) => key(i) === k);
    });
  }

  /** A ride's updates: its current state first, then every change (never an older version). */
  rideUpdates(rideId: string, current: () => Promise<RideUpdateEvent[]>): AsyncIterableIterator<RideUpdateEvent> {
    let lastVersion = -1;
    return new CatchUpStream(this.engine, topics.rideUpdates(rideId), current, (e, initial) => {
      // Round starts share a version with the state they follow: only strictly older ones are stale.
      const floor = Math.max(lastVersion, ...initial.map((i) => i.ride.version));
      if (e.ride.version < floor) return true;
      lastVersion = e.ride.version;
      return false;
    });
  }

  async onRegistryChange(listener: (change: RegistryChange) => void): Promise<void> {
    await this.engine.subscribe(topics.registryChanged, listener);
  }

  async close(): Promise<void> {
    await this.engine.close().catch(() => {});
  }
}

/**
 * An async iterator over one topic that first yields a snapshot read after the subscription is
 * live. Implemented by hand (not an async generator) so return() unsubscribes even while the
 * consumer is waiting for the next event.
 */
class CatchUpStream<T> implements AsyncIterableIterator<T> {
  private readonly buffered: T[] = [];
  private readonly waiting: Array<(r: IteratorResult<T>) => void> = [];
  private initial: T[] = [];
  private subscription: number | null = null;
  private open = true;
  private readonly ready: Promise<void>;

  constructor(
    private readonly engine: RedisPubSub,
    topic: string,
    current: () => Promise<T[]>,
    private readonly skip: (event: T, initial: T[]) => boolean,
  ) {
    const live: T[] = [];
    let caughtUp = false;
    this.ready = (async () => {
      this.subscription = await engine.subscribe(topic, (event: T) => (caughtUp ? this.push(event) : live.push(event)));
      if (!this.open) return this.unsubscribe();
      this.initial = await current();
      for (const e of this.initial) this.push(e, true);
      caughtUp = true;
      for (const e of live) this.push(e);
    })();
    this.ready.catch(() => this.return());
  }

  private push(event: T, fromSnapshot = false): void {
    if (!this.open || (!fromSnapshot && this.skip(event, this.initial))) return;
    const resolve = this.waiting.shift();
    if (resolve) resolve({ value: event, done: false });
    else this.buffered.push(event);
  }

  async next(): Promise<IteratorResult<T>> {
    await this.ready;
    const event = this.buffered.shift();
    if (event !== undefined) return { value: event, done: false };
    if (!this.open) return { value: undefined, done: true };
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async return(): Promise<IteratorResult<T>> {
    this.open = false;
    this.unsubscribe();
    for (const resolve of this.waiting.splice(0)) resolve({ value: undefined, done: true });
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<T>> {
    await this.return();
    throw error;
  }

  private unsubscribe(): void {
    if (this.subscription !== null) this.engine.unsubscribe(this.subscription);
    this.subscription = null;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
