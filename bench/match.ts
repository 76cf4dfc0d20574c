// (b) Matching latency with many drivers online: requestRide at a steady rate; time until the
// first offer lands on a driver socket, and until the rider sees ASSIGNED. The server's own
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
import { scrape, type Scrape } from '../src/sim/scrape.ts';
import { Samples } from '../src/sim/stats.ts';
import { clientFor, METRICS_TOKEN, putOnline, randomPoint, registerFleet } from './lib/fleet.ts';

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
  firstOfferMs: { p50: number; p95: number; p99: number };
  assignedMs: { p50: number; p95: number; p99: number };
  poolWait: PoolWait;
}

interface Probe {
  id: string;
  client: RidematchClient;
  position: { lat: number; lng: number };
  /** Chosen for a ride, until that ride is completed (or failed). */
  busy: boolean;
  /** Waiting for the offer of its ride (accepts the first one). */
  expecting: boolean;
  done?: Promise<void>;
}

const PROBES = 200;
/** A rider holds one live ride at a time: at 20 rides/s each rider asks every 5 s, long after its last ride ended. */
const RIDERS = 100;

export class MatchBench {
  private fleet: DriverProfile[] = [];
  private probes: Probe[] = [];
  private riders: RidematchClient[] = [];
  private readonly offerSeenAt = new Map<string, number>();

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
  }

  private async acceptAndComplete(probe: Probe, rideId: string): Promise<void> {
    probe.expecting = false;
    const result = await probe.client.acceptRide(rideId).catch(() => null);
    if (result?.__typename !== 'RideAssignment') return;
    await new Promise((r) => setTimeout(r, 500)); // let the rider see ASSIGNED before the trip moves on
    await probe.client.arrivedAtPickup(rideId).catch(() => {});
    await probe.client.startTrip(rideId).catch(() => {});
    await probe.client.completeRide(rideId).catch(() => {});
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
    const metricsBefore = await this.scrapeServer();
    const firstOffer = new Samples();
    const assigned = new Samples();
    const pending: Array<Promise<void>> = [];
    let requested = 0;
    let assignedCount = 0;
    const countFrom = Date.now() + 1_000;
    const end = countFrom + seconds * 1000;
    while (Date.now() < end) {
      const probe = this.freeProbe();
      if (probe) {
        probe.busy = true;
        probe.expecting = true;
        const rider = this.riders[requested % RIDERS]!;
        const counted = Date.now() >= countFrom;
        if (counted) requested += 1;
        pending.push(
          this.rideOnce(rider, probe)
            .catch(() => {
              probe.busy = probe.expecting = false;
              return null;
            })
            .then((r) => {
            if (!r || !counted) return;
            assignedCount += 1;
            firstOffer.add(r.firstOfferMs);
            assigned.add(r.assignedMs);
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 1000 / ratePerSecond));
    }
    await Promise.all(pending);
    await Promise.all(this.probes.map((p) => p.done)); // completions are part of the load
    const poolWait = poolWaitBetween(metricsBefore, await this.scrapeServer());
    const pick = (s: Samples) => ({ p50: s.percentile(50), p95: s.percentile(95), p99: s.percentile(99) });
    return { onlineDrivers: online, rides: requested, assigned: assignedCount, firstOfferMs: pick(firstOffer), assignedMs: pick(assigned), poolWait };
  }

  private scrapeServer(): Promise<Scrape> {
    return scrape(this.opts.url.replace(/\/graphql$/, '/metrics'), METRICS_TOKEN);
  }

  private async rideOnce(rider: RidematchClient, probe: Probe): Promise<{ firstOfferMs: number; assignedMs: number } | null> {
    const t0 = performance.now();
    const ride = await rider.requestRide({
      pickup: probe.position,
      dropoff: randomPoint(this.opts.box),
      carType: 'ECONOMY',
      paymentMethod: 'CARD',
    });
    const assignedAt = await new Promise<number | null>((resolve) => {
      const timeout = setTimeout(() => (stop(), resolve(null)), 10_000);
      const stop = rider.rideUpdates(ride.id, {
        next: (u) => {
          if (u.status === 'SEARCHING') return;
          clearTimeout(timeout);
          stop();
          resolve(u.status === 'ASSIGNED' || u.status === 'COMPLETED' ? performance.now() : null);
        },
      });
    });
    probe.expecting = false;
    // Free the probe once its ride is over (completed), or at once if it never got the ride.
    void (async () => {
      await (assignedAt === null ? undefined : probe.done);
      probe.busy = false;
    })();
    const offerAt = this.offerSeenAt.get(ride.id);
    if (assignedAt === null || offerAt === undefined) return null;
    return { firstOfferMs: offerAt - t0, assignedMs: assignedAt - t0 };
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
