// (d) Contention: rides whose offered drivers all accept at the same moment. Double assignments
// must be 0 (checked in the answers and in Postgres); claim latency is the accept round trip, a
// failed accept (an error, not a TAKEN answer) ranking +infinity. Rides whose offer did not reach
// all their drivers are counted, so a short contention is visible.
import type { Db } from '../src/db/client.ts';
import type { RidematchClient } from '../src/sdk/node.ts';
import { Latency, type LatencySummary } from './lib/latency.ts';
import { watchPhase, type PhaseConditions } from './lib/phase-monitor.ts';
import { clientFor, registerFleet } from './lib/fleet.ts';

export interface ContentionResult {
  rides: number;
  driversPerRide: number;
  accepts: number;
  winners: number;
  doubleAssignments: number;
  /** Accepts that failed (an error rather than an assignment or TAKEN). */
  failedAccepts: number;
  /** Rides whose offer reached fewer than driversPerRide drivers within 10 s (fewer accepts raced). */
  ridesShort: number;
  /** Rides with no winner. */
  ridesWithoutWinner: number;
  claimMs: LatencySummary;
  conditions: PhaseConditions;
}

export async function benchContention(opts: { db: Db; url: string; rides: number; perRide: number }): Promise<ContentionResult> {
  const drivers = await registerFleet(opts.db, 'contention', opts.rides * opts.perRide);
  const clients = await Promise.all(drivers.map((d) => clientFor(opts.url, 'driver', d.id)));
  const offered = new Map<string, Set<number>>(); // rideId → indexes of drivers holding its offer
  clients.forEach((c, i) =>
    c.driverOffers({
      next: (e) => {
        if (e.__typename !== 'RideOffer') return;
        if (!offered.has(e.ride.id)) offered.set(e.ride.id, new Set());
        offered.get(e.ride.id)!.add(i);
      },
    }),
  );
  // One cluster per ride, 20 km apart, far from the other phases' city.
  const center = (r: number) => ({ lat: 25 + Math.floor(r / 10) * 0.18, lng: 55 + (r % 10) * 0.2 });
  await Promise.all(
    clients.map((c, i) => {
      const at = center(Math.floor(i / opts.perRide));
      return c.updateDriverLocation({ lat: at.lat + (i % opts.perRide) * 0.0005, lng: at.lng, recordedAt: new Date().toISOString() });
    }),
  );
  // A rider holds one live ride at a time: one rider per ride.
  const riderIds = Array.from({ length: opts.rides }, (_, r) => `bench-contention-${r}`);
  await opts.db.rider.createMany({ data: riderIds.map((id) => ({ id, name: id })), skipDuplicates: true });
  const riders = await Promise.all(riderIds.map((id) => clientFor(opts.url, 'rider', id, 'http')));
  const rides = await Promise.all(
    riders.map((rider, r) =>
      rider.requestRide({ pickup: center(r), dropoff: { lat: center(r).lat + 0.02, lng: center(r).lng }, carType: 'ECONOMY', paymentMethod: 'CARD' }),
    ),
  );
  const deadline = Date.now() + 10_000;
  while (rides.some((r) => (offered.get(r.id)?.size ?? 0) < opts.perRide) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

  const ridesShort = rides.filter((r) => (offered.get(r.id)?.size ?? 0) < opts.perRide).length;
  const latency = new Latency();
  const watch = await watchPhase({ serverUrl: opts.url, db: opts.db });
  const answers = await Promise.all(
    rides.flatMap((ride) =>
      [...(offered.get(ride.id) ?? [])].map(async (i) => {
        const t0 = performance.now();
        const answer = await (clients[i] as RidematchClient).acceptRide(ride.id).catch(() => null);
        if (answer) latency.add(performance.now() - t0);
        else latency.fail();
        return { rideId: ride.id, kind: answer?.__typename ?? 'failed' };
      }),
    ),
  );
  const conditions = await watch.stop();
  const winnersPerRide = new Map<string, number>();
  for (const a of answers) if (a.kind === 'RideAssignment') winnersPerRide.set(a.rideId, (winnersPerRide.get(a.rideId) ?? 0) + 1);
  const rows = await opts.db.rideOffer.groupBy({ by: ['rideId'], where: { rideId: { in: rides.map((r) => r.id) }, status: 'ACCEPTED' }, _count: true });
  const doubleInDb = rows.filter((r) => r._count > 1).length;
  const doubleInAnswers = [...winnersPerRide.values()].filter((n) => n > 1).length;
  await Promise.all([...clients, ...riders].map((c) => c.close()));
  return {
    rides: opts.rides,
    driversPerRide: opts.perRide,
    accepts: answers.length,
    winners: [...winnersPerRide.values()].reduce((a, b) => a + b, 0),
    doubleAssignments: doubleInDb + doubleInAnswers,
    failedAccepts: answers.filter((a) => a.kind === 'failed').length,
    ridesShort,
    ridesWithoutWinner: rides.filter((r) => !winnersPerRide.has(r.id)).length,
    claimMs: latency.summary(),
    conditions,
  };
}
