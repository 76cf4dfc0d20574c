// (b) Matching latency with many drivers online, each ride through the whole flow: the rider asks
// estimateRide (timed), requests with that estimate's id; time from requestRide until the first
// offer lands on a driver socket, and until the rider sees ASSIGNED (from requestRide, and from the
// driver's acceptRide: the accept path on its own, issue 15 goal 2); the driver accepts, arrives,
// starts and completes the trip. A failed step counts as a failure in every latency it would
// have produced (ranked +infinity, never dropped). The server's own
// /metrics, scraped before and after, tell how long its callers waited for a Postgres connection
// meanwhile (it should stay near zero: no Redis I/O inside transactions, a bounded poller).
//
// The online fleet (10k, then 50k) is written straight into the shards; the drivers whose sockets
// we time ("probes") are real SDK clients. Each ride is requested at a free probe's position, so
// the nearest driver is a probe; it accepts at once and completes the ride shortly after.
import type { Db } from '../src/db/client.ts';
import type { ShardRouter } from '../src/redis/shard-router.ts';
import type { DriverProfile } from '../src/registry/registry.ts';
import type { RidematchClient } from '../src/sdk/node.ts';
import type { BoundingBox } from '../src/sim/simulation.ts';
import type { Scrape } from '../src/sim/scrape.ts';
import { clientFor, putOnline, randomPoint, registerFleet } from './lib/fleet.ts';
import { Latency, type LatencySummary } from './lib/latency.ts';
import { watchPhase, type PhaseConditions } from './lib/phase-monitor.ts';

/** Waits for a pooled Postgres connection on the server during the load. */
export interface PoolWait {
  waits: number;
  totalMs: number;
  /** The longest (the server's gauge is reset by each scrape, so this is the load's own). */
  maxMs: number;
}

export interface MatchLevel {
  onlineDrivers: number;
  rides: number;
  assigned: number;
  firstOfferMs: LatencySummary;
  /** requestRide sent → the rider sees ASSIGNED (the whole match: first offer, accept, confirm). */
  assignedMs: LatencySummary;
  /** acceptRide sent by the driver → the rider sees ASSIGNED (issue 15, goal 2). */
  acceptToAssignedMs: LatencySummary;
  /** estimateRide round trips of the same riders, just before each request. */
  estimateMs: LatencySummary;
  /** Rides that went all the way (assigned → arrived → started → completed), and trip steps that failed. */
  flow: { completed: number; tripStepFailures: number };
  /** Ticks of the request clock with no free probe (no ride was requested then). */
  skippedTicks: number;
  /** Why counted rides failed: the step and its error code ("no offer seen", "not ASSIGNED within 10 s"). */
  failureReasons: Record<string, number>;
  poolWait: PoolWait;
  conditions: PhaseConditions;
}

interface Probe {
  id: string;
  client: RidematchClient;
  position: { lat: number; lng: number };
  /** Chosen for a ride, until that ride is completed (or failed). */
  busy: boolean;
  /** Waiting for the offer of its ride (accepts the first one). */
  expecting: boolean;
  /** The rider whose rides are requested at this probe. */
  rider?: RidematchClient;
  /** Its current ride is one of the counted ones (not the warm-up second's). */
  counted?: boolean;
  done?: Promise<void>;
}

const PROBES = 200;
/**
 * A rider holds one live ride at a time: each probe has its own rider, and both are busy until
 * that ride is over (completed, or cancelled by the rider when not ASSIGNED within 10 s), so no
 * request meets ACTIVE_RIDE_EXISTS however slow the rides get.
 */
const RIDERS = PROBES;

export class MatchBench {
  private fleet: DriverProfile[] = [];
  private probes: Probe[] = [];
  private riders: RidematchClient[] = [];
  private readonly offerSeenAt = new Map<string, number>();
  /** When the probe sent acceptRide for each ride. */
  private readonly acceptSentAt = new Map<string, number>();

  constructor(
    private readonly opts: { db: Db; url: string; router: ShardRouter; box: BoundingBox; driverTtlMs: number; maxFleet: number },
  ) {}

  async setUp(): Promise<void> {
    this.fleet = await registerFleet(this.opts.db, 'fleet', this.opts.maxFleet);
    const probeProfiles = await registerFleet(this.opts.db, 'probe', PROBES);
    this.probes = await Promise.all(
      probeProfiles.map(async (p) => ({
        id: p.id,
        client: await clientFor(this.opts.url, 'driver', p.id),
        position: randomPoint(this.opts.box),
        busy: false,
        expecting: false,
      })),
    );
    for (const probe of this.probes) {
      probe.client.driverOffers({
        next: (event) => {
          if (event.__typename !== 'RideOffer') return;
          if (!this.offerSeenAt.has(event.ride.id)) this.offerSeenAt.set(event.ride.id, performance.now());
          // A probe takes only the ride requested at its own position (a neighbour's ride can
          // reach it too, as one of the nearest drivers).
          const mine = event.ride.pickup.lat === probe.position.lat && event.ride.pickup.lng === probe.position.lng;
          if (probe.expecting && mine) probe.done = this.acceptAndComplete(probe, event.ride.id);
        },
      });
    }
    await Promise.all(this.riders.map((r) => r.close()));
    const riderIds = Array.from({ length: RIDERS }, (_, i) => `bench-rider-${i}`);
    await this.opts.db.rider.createMany({ data: riderIds.map((id) => ({ id, name: id })), skipDuplicates: true });
    this.riders = await Promise.all(riderIds.map((id) => clientFor(this.opts.url, 'rider', id, 'http')));
    this.probes.forEach((p, i) => (p.rider = this.riders[i]));
  }

  private flow = { completed: 0, tripStepFailures: 0 };
  private reasons: Record<string, number> = {};
  /** The warm-up second's estimates go here (and its failures are not counted). */
  private readonly uncounted = new Latency();
  private because(reason: string): void {
    this.reasons[reason] = (this.reasons[reason] ?? 0) + 1;
  }

  private async acceptAndComplete(probe: Probe, rideId: string): Promise<void> {
    probe.expecting = false;
    const counted = probe.counted === true;
    this.acceptSentAt.set(rideId, performance.now());
    const result = await probe.client.acceptRide(rideId).catch(() => null);
    if (result?.__typename !== 'RideAssignment') return;
    await new Promise((r) => setTimeout(r, 500)); // let the rider see ASSIGNED before the trip moves on
    let ok = true;
    for (const step of [() => probe.client.arrivedAtPickup(rideId), () => probe.client.startTrip(rideId), () => probe.client.completeRide(rideId)]) {
      if (!ok) break;
      ok = await step().then(() => true, () => false);
      if (!ok && counted) this.flow.tripStepFailures += 1;
    }
    if (ok && counted) this.flow.completed += 1;
  }

  private nextProbe = 0;
  private freeProbe(): Probe | undefined {
    for (let k = 0; k < this.probes.length; k++) {
      const probe = this.probes[(this.nextProbe + k) % this.probes.length]!;
      if (!probe.busy) {
        this.nextProbe = (this.nextProbe + k + 1) % this.probes.length;
        return probe;
      }
    }
    return undefined;
  }

  /** Where the online fleet was put by the last run (for the search comparison). */
  positions = new Map<string, { lat: number; lng: number }>();

  /**
   * Puts `online` fleet drivers (and every probe) online, then requests rides for `seconds`; the
   * rides of the first second warm the path up and are not counted.
   */
  async run(online: number, ratePerSecond: number, seconds: number): Promise<MatchLevel> {
    this.positions = await putOnline(this.opts.router, this.opts.db, this.fleet.slice(0, online), this.opts.box, this.opts.driverTtlMs);
    await Promise.all(
      this.probes.map((p) => p.client.updateDriverLocation({ ...p.position, recordedAt: new Date().toISOString() })),
    );
    this.flow = { completed: 0, tripStepFailures: 0 };
    this.reasons = {};
    const watch = await watchPhase({ serverUrl: this.opts.url, db: this.opts.db });
    const firstOffer = new Latency();
    const assigned = new Latency();
    const acceptToAssigned = new Latency();
    const estimate = new Latency();
    const pending: Array<Promise<void>> = [];
    let requested = 0;
    let assignedCount = 0;
    let skippedTicks = 0;
    const countFrom = Date.now() + 1_000;
    const end = countFrom + seconds * 1000;
    while (Date.now() < end) {
      const probe = this.freeProbe();
      const counted = Date.now() >= countFrom;
      if (probe) {
        probe.busy = true;
        probe.expecting = true;
        probe.counted = counted;
        const rider = probe.rider!;
        if (counted) requested += 1;
        pending.push(
          this.rideOnce(rider, probe, counted ? estimate : this.uncounted)
            .catch((err: unknown) => {
              probe.busy = probe.expecting = false;
              if (counted) this.because(`requestRide: ${codeOf(err)}`);
              return { firstOfferMs: null, assignedMs: null, acceptToAssignedMs: null };
            })
            .then((r) => {
              if (!counted) return;
              if (r.firstOfferMs === null && r.assignedMs !== null) this.because('no offer seen, yet ASSIGNED');
              if (r.firstOfferMs === null) firstOffer.fail();
              else firstOffer.add(r.firstOfferMs);
              if (r.assignedMs === null) assigned.fail();
              else {
                assigned.add(r.assignedMs);
                assignedCount += 1;
              }
              if (r.acceptToAssignedMs === null) acceptToAssigned.fail();
              else acceptToAssigned.add(r.acceptToAssignedMs);
            }),
        );
      } else if (counted) skippedTicks += 1;
      await new Promise((r) => setTimeout(r, 1000 / ratePerSecond));
    }
    await Promise.all(pending);
    await Promise.all(this.probes.map((p) => p.done)); // completions are part of the load
    const conditions = await watch.stop();
    const poolWait = watch.scrapes ? poolWaitBetween(watch.scrapes.before, watch.scrapes.after) : { waits: Number.NaN, totalMs: Number.NaN, maxMs: Number.NaN };
    return {
      onlineDrivers: online,
      rides: requested,
      assigned: assignedCount,
      firstOfferMs: firstOffer.summary(),
      assignedMs: assigned.summary(),
      acceptToAssignedMs: acceptToAssigned.summary(),
      estimateMs: estimate.summary(),
      flow: { ...this.flow },
      skippedTicks,
      failureReasons: { ...this.reasons },
      poolWait,
      conditions,
    };
  }

  /** A ride through the whole flow; null where that latency failed (no offer seen, not ASSIGNED within 10 s). */
  private async rideOnce(
    rider: RidematchClient,
    probe: Probe,
    estimateLatency: Latency,
  ): Promise<{ firstOfferMs: number | null; assignedMs: number | null; acceptToAssignedMs: number | null }> {
    const trip = { pickup: probe.position, dropoff: randomPoint(this.opts.box), carType: 'ECONOMY' as const };
    const e0 = performance.now();
    const quote = await rider.estimateRide(trip).catch((err: unknown) => {
      if (estimateLatency !== this.uncounted) this.because(`estimateRide: ${codeOf(err)}`);
      return null;
    });
    if (quote) estimateLatency.add(performance.now() - e0);
    else estimateLatency.fail();
    const t0 = performance.now();
    const ride = await rider.requestRide({ ...trip, paymentMethod: 'CARD', ...(quote ? { estimateId: quote.id } : {}) });
    let assignedStatus: string | null = null;
    const assignedAt = await new Promise<number | null>((resolve) => {
      const timeout = setTimeout(() => (stop(), resolve(null)), 10_000);
      const stop = rider.rideUpdates(ride.id, {
        next: (u) => {
          if (u.status === 'SEARCHING' || u.status === 'SCHEDULED') return;
          clearTimeout(timeout);
          stop();
          assignedStatus = u.status;
          // The first status after SEARCHING; a later trip status (the update stream caught up
          // after the assignment) counts as assigned, at the time seen (an upper bound).
          resolve(['ASSIGNED', 'DRIVER_ARRIVED', 'IN_PROGRESS', 'COMPLETED'].includes(u.status) ? performance.now() : null);
        },
      });
    });
    probe.expecting = false;
    // Free the probe once its ride is over (completed), or at once if it never got the ride.
    void (async () => {
      if (assignedAt === null) await rider.cancelRide(ride.id).catch(() => {}); // its rider may ask again
      await probe.done;
      probe.busy = false;
    })();
    const offerAt = this.offerSeenAt.get(ride.id);
    if (estimateLatency !== this.uncounted) {
      if (offerAt === undefined && assignedAt === null) this.because(`no offer seen, then ${assignedStatus ?? 'no update'} within 10 s`);
      else if (assignedAt === null) this.because(`offer seen, then ${assignedStatus ?? 'no update'} within 10 s`);
    }
    const acceptAt = this.acceptSentAt.get(ride.id);
    if (estimateLatency !== this.uncounted && assignedAt !== null && acceptAt === undefined) this.because('ASSIGNED without an accept sent');
    return {
      firstOfferMs: offerAt === undefined ? null : offerAt - t0,
      assignedMs: assignedAt === null ? null : assignedAt - t0,
      acceptToAssignedMs: assignedAt === null || acceptAt === undefined ? null : assignedAt - acceptAt,
    };
  }

  fleetDrivers(online: number): DriverProfile[] {
    return this.fleet.slice(0, online);
  }

  async tearDown(): Promise<void> {
    // Let assigned rides complete first, or their probes would stay ON_RIDE in Postgres.
    await Promise.all(this.probes.map((p) => p.done));
    await Promise.all([...this.probes.map((p) => p.client.close()), ...this.riders.map((r) => r.close())]);
  }
}

function poolWaitBetween(before: Scrape, after: Scrape): PoolWait {
  const moved = (name: string) => after.value(name) - before.value(name);
  return {
    waits: moved('ridematch_pg_pool_wait_seconds_count'),
    totalMs: moved('ridematch_pg_pool_wait_seconds_sum') * 1000,
    maxMs: after.value('ridematch_pg_pool_wait_max_seconds') * 1000,
  };
}

function codeOf(err: unknown): string {
  const e = err as { code?: string; errors?: Array<{ extensions?: { code?: string } }>; message?: string };
  return e?.errors?.[0]?.extensions?.code ?? e?.code ?? e?.message?.slice(0, 60) ?? String(err);
}
