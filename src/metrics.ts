// Prometheus metrics of one API instance (prom-client), in a registry of its own: tests run
// several instances in one process, and prom-client's global registry would mix them up.
// Everything is counted in memory where it happens, so no metric adds a Redis or Postgres round
// trip; state owned elsewhere (shard health, subscriptions, the pool) is read when /metrics is
// scraped. README "Operating Ridematch" says what each metric means and what to alert on.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DomainError } from './errors.ts';
import { LIMIT_NAMES, type LimitName } from './limits/rate-limits.ts';

export type RideOutcome = 'assigned' | 'no_drivers_available' | 'cancelled_by_rider' | 'cancelled_by_operator' | 'completed' | 'completed_by_operator';
export type OfferOutcome = 'accepted' | 'declined' | 'expired' | 'revoked';
type LocationOutcome = 'accepted' | 'out_of_order' | 'invalid' | 'rate_limited' | 'failed';
type RateLimit = LimitName | 'location';

const RIDE_OUTCOMES: RideOutcome[] = ['assigned', 'no_drivers_available', 'cancelled_by_rider', 'cancelled_by_operator', 'completed', 'completed_by_operator'];
const OFFER_OUTCOMES: OfferOutcome[] = ['accepted', 'declined', 'expired', 'revoked'];
const LOCATION_OUTCOMES: LocationOutcome[] = ['accepted', 'out_of_order', 'invalid', 'rate_limited', 'failed'];
const ACCEPT_RESULTS = ['assigned', 'taken', 'not-found', 'expired', 'error'];

/** What the scrape-time gauges read (structural, so this module depends on none of their owners). */
export interface MetricSources {
  shards(): Array<{ name: string; healthy: boolean }>;
  openSubscriptions(): number;
  failedPublishes(): number;
  poolWaiting(): number;
}

const seconds = (sinceMs: number) => (performance.now() - sinceMs) / 1000;

export class Metrics {
  readonly registry = new Registry();

  private readonly timeToFirstOffer = new Histogram({
    name: 'ridematch_time_to_first_offer_seconds',
    help: 'From requestRide received to its first offers announced on the bus',
    buckets: [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly timeToAssignment = new Histogram({
    name: 'ridematch_time_to_assignment_seconds',
    help: 'From the ride requested to ASSIGNED committed in Postgres (both by Postgres\' clock; includes the driver deciding)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 45, 60, 120],
    registers: [this.registry],
  });
  private readonly acceptDuration = new Histogram<'result'>({
    name: 'ridematch_accept_duration_seconds',
    help: 'acceptRide from call to answer, by answer (assigned, taken, not-found, expired, error)',
    labelNames: ['result'],
    buckets: [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly locationAckDuration = new Histogram({
    name: 'ridematch_location_ack_duration_seconds',
    help: 'updateDriverLocation from call to acknowledgement (every outcome)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  private readonly ridesRequested = new Counter({
    name: 'ridematch_rides_requested_total',
    help: 'Rides created by requestRide (a resent client key creates none)',
    registers: [this.registry],
  });
  private readonly rides = new Counter<'outcome'>({
    name: 'ridematch_rides_total',
    help: 'Ride state changes committed: assigned, then how rides ended',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly offersSent = new Counter({
    name: 'ridematch_offers_sent_total',
    help: 'Offers stored and announced to drivers (every round)',
    registers: [this.registry],
  });
  private readonly offers = new Counter<'outcome'>({
    name: 'ridematch_offers_total',
    help: 'How offers ended: accepted, declined, expired (timed out, driver offline or silent), revoked (ride taken or cancelled)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly locationUpdates = new Counter<'outcome'>({
    name: 'ridematch_location_updates_total',
    help: 'updateDriverLocation by outcome: accepted, out_of_order (changed nothing), invalid, rate_limited, failed',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly rateLimitedTotal = new Counter<'limit'>({
    name: 'ridematch_rate_limited_total',
    help: 'Requests refused by a rate limit, by limit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  private readonly openSockets = new Gauge({
    name: 'ridematch_open_sockets',
    help: 'WebSocket connections open on this instance',
    registers: [this.registry],
  });
  private readonly poolWait = new Histogram({
    name: 'ridematch_pg_pool_wait_seconds',
    help: 'Time a caller waited for a Postgres connection (only callers that found the pool exhausted)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  /** Longest pool wait since the last scrape (reset by each scrape). */
  private poolWaitMaxMs = 0;

  constructor() {
    // Process CPU, memory, GC and event-loop lag (nodejs_eventloop_lag_*), in this registry only.
    collectDefaultMetrics({ register: this.registry });
    // Every label value exists from the start, so a scrape shows zeros rather than no series.
    for (const outcome of RIDE_OUTCOMES) this.rides.inc({ outcome }, 0);
    for (const outcome of OFFER_OUTCOMES) this.offers.inc({ outcome }, 0);
    for (const outcome of LOCATION_OUTCOMES) this.locationUpdates.inc({ outcome }, 0);
    for (const limit of [...LIMIT_NAMES, 'location']) this.rateLimitedTotal.inc({ limit }, 0);
    for (const result of ACCEPT_RESULTS) this.acceptDuration.zero({ result });
  }

  /** Gauges read at scrape time from the services that own the state. */
  watch(sources: MetricSources): void {
    const registers = [this.registry];
    const max = () => this.poolWaitMaxMs;
    const resetMax = () => (this.poolWaitMaxMs = 0);
    new Gauge<'shard'>({
      name: 'ridematch_shard_up',
      help: 'Whether this instance routes to the Redis shard (1) or has it marked down (0)',
      labelNames: ['shard'],
      registers,
      collect() {
        for (const s of sources.shards()) this.set({ shard: s.name }, s.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ridematch_open_subscriptions',
      help: 'GraphQL subscriptions (offers feeds, ride updates) open on this instance',
      registers,
      collect() {
        this.set(sources.openSubscriptions());
      },
    });
    new Counter({
      name: 'ridematch_bus_publish_failures_total',
      help: 'Event-bus publishes that failed or timed out and were dropped (the fact stays readable)',
      registers,
      collect() {
        this.reset();
        this.inc(sources.failedPublishes());
      },
    });
    new Gauge({
      name: 'ridematch_pg_pool_waiting',
      help: 'Callers waiting for a Postgres connection right now',
      registers,
      collect() {
        this.set(sources.poolWaiting());
      },
    });
    new Gauge({
      name: 'ridematch_pg_pool_wait_max_seconds',
      help: 'Longest wait for a Postgres connection since the previous scrape',
      registers,
      collect() {
        this.set(max() / 1000);
        resetMax();
      },
    });
  }

  rideRequested(): void {
    this.ridesRequested.inc();
  }

  offersAnnounced(count: number): void {
    this.offersSent.inc(count);
  }

  /** `receivedAt`: performance.now() when requestRide arrived. */
  firstOffersOut(receivedAt: number): void {
    this.timeToFirstOffer.observe(seconds(receivedAt));
  }

  rideAssigned(sinceRequestMs: number): void {
    this.rides.inc({ outcome: 'assigned' });
    this.timeToAssignment.observe(sinceRequestMs / 1000);
  }

  rideEnded(outcome: Exclude<RideOutcome, 'assigned'>): void {
    this.rides.inc({ outcome });
  }

  offersEnded(outcome: OfferOutcome, count = 1): void {
    if (count > 0) this.offers.inc({ outcome }, count);
  }

  rateLimited(limit: RateLimit): void {
    this.rateLimitedTotal.inc({ limit });
  }

  /** Counts a socket as open until the returned function is called. */
  socketOpened(): () => void {
    this.openSockets.inc();
    return () => this.openSockets.dec();
  }

  poolWaited(ms: number): void {
    this.poolWait.observe(ms / 1000);
    this.poolWaitMaxMs = Math.max(this.poolWaitMaxMs, ms);
  }

  /** Times an acceptRide and labels it by its answer. */
  async timeAccept<T extends { kind: string }>(accept: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let result = 'error';
    try {
      const answer = await accept();
      result = answer.kind;
      return answer;
    } finally {
      this.acceptDuration.observe({ result }, seconds(started));
    }
  }

  /** Times a location update and counts its outcome (a refusal by the location limit too). */
  async timeLocationUpdate<T extends { outOfOrder: boolean }>(update: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let outcome: LocationOutcome = 'failed';
    try {
      const ack = await update();
      outcome = ack.outOfOrder ? 'out_of_order' : 'accepted';
      return ack;
    } catch (err) {
      if (err instanceof DomainError && err.code === 'RATE_LIMITED') outcome = 'rate_limited';
      if (err instanceof DomainError && (err.code === 'INVALID_LOCATION' || err.code === 'BAD_USER_INPUT')) outcome = 'invalid';
      throw err;
    } finally {
      this.locationUpdates.inc({ outcome });
      if (outcome === 'rate_limited') this.rateLimited('location');
      this.locationAckDuration.observe(seconds(started));
    }
  }
}
