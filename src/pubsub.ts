// Events between instances: graphql-redis-subscriptions over ioredis, one subscription per channel
// fanned out to this instance's subscriptions (redis/channel-fan-out.ts). Topic names and payload
// types live here and nowhere else.
//
// The bus is at-most-once and optional:
// - a publish never blocks or fails its caller: no offline queue, a short command timeout, and a
//   failure is counted and dropped (every pushed fact is also readable: `ride`, `myOffers`);
// - a subscription catches up by reading the current state after Redis acknowledged its
//   SUBSCRIBE (or, if the bus is away, at once, and again once the SUBSCRIBE goes through);
// - when the subscriber connection comes back after an outage, every open subscription of this
//   instance re-reads the current state and pushes what changed;
// - an instance whose publishes failed (its publisher was cut off, perhaps while every other
//   instance stayed connected and so never caught up) announces it on `bus-resync` as soon as a
//   publish goes through again: every instance's subscriptions then catch up the same way.
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';
import { TRIP_STATUSES } from './match/ride-status.ts';
import type { RideView } from './match/ride-view.ts';
import { ChannelFanOut, type Listener } from './redis/channel-fan-out.ts';
import { redisOptionsFromUrl } from './redis/connection.ts';

export type RevokeReason = 'TAKEN' | 'CANCELLED' | 'EXPIRED';

export type DriverOfferEvent =
  | { kind: 'offer'; ride: RideView; pickupDistanceKm: number; expiresAt: Date; round: number }
  | { kind: 'revoked'; rideId: string; reason: RevokeReason }
  | { kind: 'account'; status: 'SUSPENDED' | 'ACTIVE'; reason: string | null };

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

/** The assigned driver's position during a trip (pushed to the rider only). */
export interface RidePosition {
  kind: 'position';
  rideId: string;
  driverId: string;
  lat: number;
  lng: number;
  at: Date;
}

const TRIP = new Set<string>(TRIP_STATUSES);

export const topics = {
  driverOffers: (driverId: string) => `offers:${driverId}`,
  rideUpdates: (rideId: string) => `ride:${rideId}`,
  ridePositions: (rideId: string) => `ride-position:${rideId}`,
  registryChanged: 'registry-changed',
  busResync: 'bus-resync',
} as const;

export interface RegistryChange {
  kind: 'driver' | 'rider';
  id: string;
}

export interface EventsOptions {
  publishTimeoutMs: number;
  log: Logger;
}

/** How long a new subscription waits for the bus before reading the current state without it. */
const SUBSCRIBE_WAIT_MS = 1_000;
/** How often an instance that owes the others a resync notice tries to send it. */
const RESYNC_NOTICE_RETRY_MS = 500;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** JSON turns Dates into strings; turn them back so resolvers see the same types as locally. */
const reviveDates = (_key: string, value: unknown) =>
  typeof value === 'string' && ISO_DATE.test(value) ? new Date(value) : value;

export class Events {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly engine: RedisPubSub;
  private readonly fanOut: ChannelFanOut;
  private readonly streams = new Set<CatchUpStream<unknown, unknown>>();
  /** Publishes that failed or timed out (the bus was away); for metrics and tests. */
  failedPublishes = 0;
  /** Set while a publish failed and the others have not been told to catch up. */
  private resyncNoticeTimer: NodeJS.Timeout | null = null;
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;

  constructor(
    redisUrl: string,
    private readonly options: EventsOptions,
  ) {
    const base = { ...redisOptionsFromUrl(redisUrl), retryStrategy: (n: number) => Math.min(n * 100, 1_000) };
    this.publisher = new Redis({ ...base, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: options.publishTimeoutMs });
    // The subscriber queues SUBSCRIBEs while the bus is away and re-subscribes when it returns.
    this.subscriber = new Redis({ ...base, maxRetriesPerRequest: null });
    for (const c of [this.publisher, this.subscriber]) c.on('error', () => {});
    let connectedBefore = false;
    this.subscriber.on('ready', () => {
      if (connectedBefore) setImmediate(() => void this.resyncAfterReconnect());
      connectedBefore = true;
    });
    this.engine = new RedisPubSub({ publisher: this.publisher, subscriber: this.subscriber, reviver: reviveDates });
    this.fanOut = new ChannelFanOut(this.engine);
    void this.fanOut.listen(topics.busResync, { deliver: () => void this.catchUpAll('another instance missed publishes') }).catch(() => {});
  }

  /** Waits (bounded) for the bus; an instance starts without it and catches up when it comes. */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    const up = Promise.all([this.subscriber.ping(), waitUntilReady(this.publisher)]).then(() => true, () => false);
    const ok = await Promise.race([up, new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
    if (!ok) this.options.log.warn('event bus unreachable at start: pushes are delayed until it is back');
    return ok;
  }

  publishOffer(driverId: string, event: DriverOfferEvent): Promise<void> {
    return this.publish(topics.driverOffers(driverId), event);
  }

  publishRideUpdate(event: RideUpdateEvent): Promise<void> {
    return this.publish(topics.rideUpdates(event.ride.id), event);
  }

  publishRidePosition(position: RidePosition): Promise<void> {
    return this.publish(topics.ridePositions(position.rideId), position);
  }

  publishRegistryChange(change: RegistryChange): Promise<void> {
    return this.publish(topics.registryChanged, change);
  }

  /** Never throws and never takes longer than the publish timeout. */
  private async publish(topic: string, payload: unknown): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('publish timed out')), this.options.publishTimeoutMs);
    });
    try {
      await Promise.race([this.engine.publish(topic, payload), timeout]);
    } catch (err) {
      this.failedPublishes += 1;
      this.options.log.debug({ err, topic }, 'publish dropped (bus unavailable)');
      this.oweResyncNotice();
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A dropped publish is recovered by the subscribers' catch-up, but only subscribers that lost
   * the bus themselves catch up. Until the bus takes a publish from this instance again, retry
   * telling every instance (this one too) to catch up.
   */
  private oweResyncNotice(): void {
    if (this.resyncNoticeTimer) return;
    this.resyncNoticeTimer = setInterval(() => {
      this.publisher
        .publish(topics.busResync, '{}')
        .then(() => {
          if (this.resyncNoticeTimer) clearInterval(this.resyncNoticeTimer);
          this.resyncNoticeTimer = null;
        })
        .catch(() => {}); // still away: the next tick retries
    }, RESYNC_NOTICE_RETRY_MS);
    this.resyncNoticeTimer.unref();
  }

  /**
   * A driver's offers feed: the live offers they hold now, then every new offer or revoke.
   * `offers` reads the live offers, and explains offers the feed delivered that are no longer
   * live (used when catching up after the bus was away). One reader for every feed: a feed
   * holds no closures of its own.
   */
  driverOffers(driverId: string, offers: OfferReads): AsyncIterableIterator<DriverOfferEvent> {
    return new CatchUpStream(this.fanOut, this.streams, [topics.driverOffers(driverId)], new DriverOffersPolicy(driverId, offers));
  }

  /**
   * A ride's updates: its current state first, then every change (never an older version). With
   * `positions` (the rider's own stream), the assigned driver's position as it moves, on top of
   * the last state.
   */
  rideUpdates(current: () => Promise<RideUpdateEvent[]>, rideId: string, opts: { positions?: boolean } = {}): AsyncIterableIterator<RideUpdateEvent> {
    const streamed = [topics.rideUpdates(rideId), ...(opts.positions ? [topics.ridePositions(rideId)] : [])];
    return new CatchUpStream(this.fanOut, this.streams, streamed, new RideUpdatesPolicy(current));
  }

  /** Subscribes in the background: the SUBSCRIBE is sent whenever the bus is (or comes) up. */
  onRegistryChange(listener: (change: RegistryChange) => void): void {
    void this.fanOut.listen(topics.registryChanged, { deliver: (change) => listener(change as RegistryChange) }).catch(() => {});
  }

  /** Open subscriptions on this instance (for metrics and tests). */
  get openStreams(): number {
    return this.streams.size;
  }

  /** After the subscriber reconnected: its SUBSCRIBEs went out before this PING's reply came back. */
  private async resyncAfterReconnect(): Promise<void> {
    try {
      await this.subscriber.ping();
    } catch {
      return; // gone again: the next 'ready' retries
    }
    await this.catchUpAll('event bus back');
  }

  /** Every open subscription re-reads; notices arriving meanwhile coalesce into one more pass. */
  private async catchUpAll(why: string): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.options.log.info({ streams: this.streams.size, why }, 'subscriptions catch up');
    this.catchingUp = (async () => {
      do {
        this.catchUpAgain = false;
        await Promise.all([...this.streams].map((s) => s.catchUp()));
      } while (this.catchUpAgain);
    })().finally(() => {
      this.catchingUp = null;
    });
    return this.catchingUp;
  }

  async close(): Promise<void> {
    if (this.resyncNoticeTimer) clearInterval(this.resyncNoticeTimer);
    for (const s of this.streams) void s.return();
    // The fan-out unsubscribes once each subscription's id is known (a microtask later): let those
    // UNSUBSCRIBEs go out before QUIT, or the library's unawaited ones reject after the close.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([this.publisher.quit(), this.subscriber.quit()]).catch(() => {});
  }
}

function waitUntilReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}

interface StreamPolicy<In, Out> {
  /** The current state; `catchingUp` is true after an outage (not for the first read). */
  snapshot(catchingUp: boolean): Promise<In[]>;
  /** What to push for an event (read or live alike), or null to drop it (deduplication, staleness). */
  accept(event: In): Out | null;
}

/** Where a driver's offers feed reads the current state (match/ride-queries.ts). */
export interface OfferReads {
  liveOffers(driverId: string): Promise<Array<Omit<Extract<DriverOfferEvent, { kind: 'offer' }>, 'kind'>>>;
  endedOffers(driverId: string, rideIds: string[]): Promise<Array<{ rideId: string; reason: RevokeReason }>>;
}

/** Offers are delivered once per round, and a revoke once per ride. */
class DriverOffersPolicy implements StreamPolicy<DriverOfferEvent, DriverOfferEvent> {
  /**
   * Per ride: the round of the offer this feed pushed last, or 'revoked' once its end was pushed.
   * Made on the first offer: most feeds sit idle all day and never need one.
   */
  private told: Map<string, number | 'revoked'> | null = null;

  constructor(
    private readonly driverId: string,
    private readonly reads: OfferReads,
  ) {}

  async snapshot(catchingUp: boolean): Promise<DriverOfferEvent[]> {
    const live: DriverOfferEvent[] = (await this.reads.liveOffers(this.driverId)).map((o) => ({ kind: 'offer', ...o }));
    if (!catchingUp || !this.told) return live;
    const liveRides = new Set(live.map((e) => (e.kind === 'offer' ? e.ride.id : '')));
    const gone = [...this.told].filter(([rideId, state]) => state !== 'revoked' && !liveRides.has(rideId)).map(([rideId]) => rideId);
    if (gone.length === 0) return live;
    const ended = await this.reads.endedOffers(this.driverId, gone);
    return [...live, ...ended.map((e): DriverOfferEvent => ({ kind: 'revoked', ...e }))];
  }

  accept(e: DriverOfferEvent): DriverOfferEvent | null {
    if (e.kind === 'account') return e; // an admin's notice: always told
    const told = (this.told ??= new Map());
    const rideId = e.kind === 'offer' ? e.ride.id : e.rideId;
    const state = told.get(rideId);
    if (e.kind === 'offer') {
      if (state === e.round) return null; // read and received live: delivered once
      told.set(rideId, e.round);
    } else {
      if (state === 'revoked') return null;
      told.set(rideId, 'revoked');
    }
    if (told.size > 1_000) told.delete(told.keys().next().value!);
    return e;
  }
}

/** Never an older version of the ride; positions only on top of a state with that driver on the trip. */
class RideUpdatesPolicy implements StreamPolicy<RideUpdateEvent | RidePosition, RideUpdateEvent> {
  private version = -1;
  private round = -1;
  private last: RideUpdateEvent | null = null;

  constructor(readonly snapshot: () => Promise<RideUpdateEvent[]>) {}

  accept(e: RideUpdateEvent | RidePosition): RideUpdateEvent | null {
    if ('kind' in e) {
      const last = this.last;
      if (!last || last.ride.driverId !== e.driverId || !TRIP.has(last.ride.status)) return null;
      return { ...last, at: e.at, driverPosition: { lat: e.lat, lng: e.lng, at: e.at } };
    }
    // Round starts share a version with the state they follow, so a state is its version and
    // round: one already pushed is not pushed again, whether a re-read found it or it arrived
    // live after the first read had (the request's own publish of the ride it just stored).
    const older = e.ride.version < this.version;
    const unchanged = e.ride.version === this.version && e.ride.round <= this.round;
    if (older || unchanged) return null;
    this.version = e.ride.version;
    this.round = e.ride.round;
    this.last = e;
    return e;
  }
}

/**
 * An async iterator over one or more topics that first yields a snapshot read after the
 * subscriptions are live, and can catch up again later. Implemented by hand (not an async
 * generator) so return() unsubscribes even while the consumer is waiting for the next event.
 * While open it is in `openStreams` (the instance-wide catch-up walks that set).
 */
class CatchUpStream<In, Out = In> implements AsyncIterableIterator<Out>, Listener {
  private readonly buffered: Out[] = [];
  private readonly waiting: Array<(r: IteratorResult<Out>) => void> = [];
  /** Events that arrived before the first snapshot was pushed; null once it was. */
  private early: In[] | null = [];
  private open = true;
  private readonly ready: Promise<void>;

  constructor(
    private readonly fanOut: ChannelFanOut,
    private readonly openStreams: Set<CatchUpStream<unknown, unknown>>,
    private readonly topics: string[],
    private readonly policy: StreamPolicy<In, Out>,
  ) {
    openStreams.add(this as CatchUpStream<unknown, unknown>);
    const subscribed = Promise.all(topics.map((topic) => fanOut.listen(topic, this)));
    subscribed.catch(() => {});
    this.ready = this.firstRead(subscribed);
    this.ready.catch(() => this.return());
  }

  /** The bus may be away: then read now, and again once the SUBSCRIBE went through. */
  private async firstRead(subscribed: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), SUBSCRIBE_WAIT_MS)));
    const inTime = await Promise.race([subscribed.then(() => true), gaveUp]);
    clearTimeout(timer);
    if (!this.open) return;
    for (const e of await this.policy.snapshot(false)) this.push(e);
    const early = this.early ?? [];
    this.early = null;
    for (const e of early) this.push(e);
    if (!inTime) void subscribed.then(() => this.catchUp(), () => {});
  }

  /** A message on one of the topics. */
  deliver(event: unknown): void {
    if (this.early) this.early.push(event as In);
    else this.push(event as In);
  }

  /** Re-reads the current state and pushes what the consumer has not seen. */
  async catchUp(): Promise<void> {
    if (!this.open) return;
    try {
      for (const e of await this.policy.snapshot(true)) this.push(e);
    } catch {
      // Postgres unavailable: the client's own re-read after reconnecting remains.
    }
  }

  private push(event: In): void {
    if (!this.open) return;
    const value = this.policy.accept(event);
    if (value === null) return;
    const resolve = this.waiting.shift();
    if (resolve) resolve({ value, done: false });
    else this.buffered.push(value);
  }

  async next(): Promise<IteratorResult<Out>> {
    await this.ready;
    if (this.buffered.length > 0) return { value: this.buffered.shift()!, done: false };
    if (!this.open) return { value: undefined, done: true };
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async return(): Promise<IteratorResult<Out>> {
    if (this.open) {
      this.open = false;
      this.openStreams.delete(this as CatchUpStream<unknown, unknown>);
      for (const topic of this.topics) this.fanOut.stopListening(topic, this);
    }
    for (const resolve of this.waiting.splice(0)) resolve({ value: undefined, done: true });
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<Out>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Out> {
    return this;
  }
}
