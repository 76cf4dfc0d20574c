// The chaos run's drivers and riders, on the SDK only, each behind a FailoverClient. Drivers
// (split across the instances) report every few seconds, accept or decline offers and complete
// trips; riders (alternating instances ride by ride) request rides with an idempotency key,
// follow them on rideUpdates until they end, and sometimes cancel. What the apps were told is
// kept in Observations, for the invariant checker to hold against Postgres.
import { signToken } from '../../auth.ts';
import type { DriverOfferEvent, RidematchClient, RideUpdate } from '../../sdk/client.ts';
import { RidematchError } from '../../sdk/client.ts';
import type { PaymentMethod } from '../../sdk/generated/graphql.ts';
import { between, randomPoint, type BoundingBox } from '../simulation.ts';
import type { CallLog } from './call-log.ts';
import type { Endpoints } from './cluster.ts';
import { errorCode, FailoverClient } from './failover-client.ts';

export interface LoadOptions {
  endpoints: Endpoints;
  jwtSecret: string;
  drivers: number;
  riders: number;
  bbox: BoundingBox;
  reportIntervalMs: number;
  acceptProbability: number;
  /** Reaction time before answering an offer. */
  answerDelayMs: [number, number];
  tripMs: [number, number];
  cancelProbability: number;
  /** When a cancelling rider cancels, after the request was answered. */
  cancelAfterMs: [number, number];
  /** A rider's pause between the end of one ride and the next request. */
  riderPauseMs: [number, number];
  /** A ride not ended after this (by what was pushed) is looked up before the rider goes on. */
  rideWatchMs: number;
  idPrefix: string;
  log: CallLog;
}

export interface PushedState {
  status: string;
  version: number;
  driverId: string | null;
  /** When it arrived (ms since epoch), and from which instance. */
  at: number;
  instance: number;
}

/** What the apps saw, to compare with the truth at the end. */
export class Observations {
  /** Per ride, every driver that was answered RideAssignment. */
  readonly assignedTo = new Map<string, Set<string>>();
  /** Every ride a rider learnt it has (requested or adopted), and whose it is. */
  readonly followed = new Map<string, string>();
  /** Per ride, the last state its rider's rideUpdates subscription delivered. */
  readonly lastPushed = new Map<string, PushedState>();
  ridesRequested = 0;
  /** Requests answered ACTIVE_RIDE_EXISTS: the rider follows the live ride it already has. */
  ridesAdopted = 0;
  cancelsSent = 0;
  /**
   * Per ride, the driver who tried to complete it and heard INVALID_STATE (the trip had been
   * cancelled and the driver was not told), and when (ms since epoch).
   */
  readonly untoldCancels = new Map<string, { driverId: string; at: number }>();
}

const FINAL = new Set(['COMPLETED', 'CANCELLED', 'NO_DRIVERS_AVAILABLE']);
const PAYMENTS: PaymentMethod[] = ['CARD', 'CASH'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Stopped (the load is over) and final refusals (already counted in the CallLog) end an action quietly. */
const quietly = () => {};

class ChaosDriver {
  private readonly seen = new Set<string>();
  private readonly trips = new Set<string>();
  private position: { lat: number; lng: number };
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    readonly id: string,
    readonly client: FailoverClient,
    private readonly load: ChaosLoad,
  ) {
    this.position = randomPoint(load.options.bbox);
  }

  async start(): Promise<void> {
    this.client.subscribe('driverOffers', (c, handler) => c.driverOffers(handler), (event: DriverOfferEvent) => {
      if (event.__typename === 'RideOffer') {
        // Re-delivered after every move between instances: answer each offer once.
        const key = `${event.ride.id}#${event.round}`;
        if (this.seen.has(key)) return;
        this.seen.add(key);
        void this.answer(event.ride.id);
      } else if (event.__typename === 'RideOfferRevoked' && event.reason === 'CANCELLED') {
        this.trips.delete(event.rideId); // the rider cancelled our trip
      }
    });
    await this.report();
    const interval = this.load.options.reportIntervalMs;
    this.timer = setTimeout(() => (this.timer = setInterval(() => void this.report(), interval)), Math.random() * interval);
  }

  private async report(): Promise<void> {
    this.client.goHome();
    const b = this.load.options.bbox;
    // A small random walk inside the box.
    this.position = {
      lat: Math.min(b.maxLat, Math.max(b.minLat, this.position.lat + (Math.random() - 0.5) * 0.001)),
      lng: Math.min(b.maxLng, Math.max(b.minLng, this.position.lng + (Math.random() - 0.5) * 0.001)),
    };
    const at = { ...this.position, recordedAt: new Date().toISOString() };
    // Not retried: the next report supersedes it.
    await this.client.call('updateDriverLocation', (c) => c.updateDriverLocation(at), { retry: false }).catch(quietly);
  }

  private async answer(rideId: string): Promise<void> {
    const o = this.load.options;
    await sleep(between(o.answerDelayMs));
    if (this.stopped) return;
    if (Math.random() >= o.acceptProbability) {
      await this.client.call('declineRide', (c) => c.declineRide(rideId)).catch(quietly);
      return;
    }
    const result = await this.client.call('acceptRide', (c) => c.acceptRide(rideId)).catch(() => null);
    if (result?.__typename !== 'RideAssignment') return;
    const told = this.load.observations.assignedTo.get(rideId) ?? new Set<string>();
    told.add(this.id);
    this.load.observations.assignedTo.set(rideId, told);
    this.trips.add(rideId);
    // The trip's steps, a third of the trip time apart: at the pickup, trip started, dropped off.
    const steps = [
      ['arrivedAtPickup', (c: RidematchClient) => c.arrivedAtPickup(rideId)],
      ['startTrip', (c: RidematchClient) => c.startTrip(rideId)],
      ['completeRide', (c: RidematchClient) => c.completeRide(rideId)],
    ] as const;
    for (const [op, step] of steps) {
      await sleep(between(o.tripMs) / steps.length);
      if (this.stopped || !this.trips.has(rideId)) return;
      const told = await this.client.call(op, step).then(
        () => true,
        (err) => {
          // A step refused as INVALID_STATE: the trip was cancelled and the driver never heard.
          if (errorCode(err) === 'INVALID_STATE') this.load.observations.untoldCancels.set(rideId, { driverId: this.id, at: Date.now() });
          return false;
        },
      );
      if (!told) break;
    }
    this.trips.delete(rideId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer); // clears the first timeout as well as the interval
    await this.client.close();
  }
}

class ChaosRider {
  private rides = 0;
  private readonly watches = new Set<() => void>();
  /** Between a request and the end of its ride. */
  riding = false;

  constructor(
    readonly id: string,
    readonly client: FailoverClient,
    private readonly load: ChaosLoad,
  ) {}

  start(): void {
    void (async () => {
      while (!this.load.requestsStopped) {
        await sleep(between(this.load.options.riderPauseMs));
        if (this.load.requestsStopped) break;
        this.riding = true;
        await this.ride().catch(quietly);
        this.riding = false;
      }
    })();
  }

  /** Requests a ride (or adopts the live one it has) and follows it until it ends. */
  private async ride(): Promise<void> {
    const o = this.load.options;
    const n = this.rides++;
    this.client.prefer(n % o.endpoints.count);
    const pickup = randomPoint(o.bbox);
    const input = {
      pickup,
      dropoff: randomPoint(o.bbox),
      carType: 'ECONOMY' as const,
      paymentMethod: PAYMENTS[n % 2]!,
      clientKey: `${this.id}-${n}-${Math.random().toString(36).slice(2, 8)}`,
    };
    let rideId: string;
    try {
      rideId = (await this.client.call('requestRide', (c) => c.requestRide(input))).id;
      this.load.observations.ridesRequested += 1;
    } catch (err) {
      const live = err instanceof RidematchError && err.code === 'ACTIVE_RIDE_EXISTS' ? err.errors[0]?.extensions?.rideId : undefined;
      if (typeof live !== 'string') return;
      rideId = live;
      this.load.observations.ridesAdopted += 1;
    }
    const ended = this.follow(rideId);
    if (Math.random() < o.cancelProbability) void this.cancelLater(rideId, ended);
    // Pushes may be lost: after a while the rider looks the ride up and goes on if it ended
    // (its subscription stays open, and what it delivered last is judged at the end).
    for (;;) {
      const done = await Promise.race([ended.then(() => true), sleep(o.rideWatchMs).then(() => false)]);
      if (done) return;
      const ride = await this.client.call('ride', (c) => c.ride(rideId));
      if (FINAL.has(ride.status)) return;
    }
  }

  /** Subscribes to the ride's updates; resolves when a final state was pushed. */
  private follow(rideId: string): Promise<void> {
    this.load.observations.followed.set(rideId, this.id);
    return new Promise((resolve) => {
      const stop = this.client.subscribe('rideUpdates', (c, handler) => c.rideUpdates(rideId, handler), (update: RideUpdate) => {
        this.load.observations.lastPushed.set(rideId, {
          status: update.status,
          version: update.ride.version,
          driverId: update.ride.driver?.id ?? null,
          at: Date.now(),
          instance: this.client.instance,
        });
        if (!FINAL.has(update.status)) return;
        stop();
        this.watches.delete(stop);
        resolve();
      });
      this.watches.add(stop);
    });
  }

  private async cancelLater(rideId: string, ended: Promise<void>): Promise<void> {
    const o = this.load.options;
    const tooLate = await Promise.race([ended.then(() => true), sleep(between(o.cancelAfterMs)).then(() => false)]);
    if (tooLate || this.load.requestsStopped) return;
    this.load.observations.cancelsSent += 1;
    await this.client.call('cancelRide', (c) => c.cancelRide(rideId)).catch(quietly);
  }

  async stop(): Promise<void> {
    for (const stop of this.watches) stop();
    await this.client.close();
  }
}

export class ChaosLoad {
  readonly observations = new Observations();
  requestsStopped = false;
  private drivers: ChaosDriver[] = [];
  private riders: ChaosRider[] = [];

  constructor(readonly options: LoadOptions) {}

  private async client(role: 'driver' | 'rider' | 'admin', id: string, home: number): Promise<FailoverClient> {
    const token = await signToken(this.options.jwtSecret, { role, id });
    return new FailoverClient(this.options.endpoints, token, home, this.options.log);
  }

  /** Registers the fleet (every driver fits every ride: the run is about faults, not eligibility). */
  async register(): Promise<void> {
    const { drivers, riders, idPrefix } = this.options;
    const admin = await this.client('admin', `${idPrefix}admin`, 0);
    await Promise.all([
      ...Array.from({ length: drivers }, (_, i) =>
        admin.call('upsertDriver', (c) =>
          c.upsertDriver({ id: `${idPrefix}d-${i}`, name: `Chaos driver ${i}`, carType: 'ECONOMY', paymentPreference: 'ANY', rating: 4.7, vehicle: 'Chaos car' }),
        ),
      ),
      ...Array.from({ length: riders }, (_, i) => admin.call('upsertRider', (c) => c.upsertRider({ id: `${idPrefix}r-${i}`, name: `Chaos rider ${i}` }))),
    ]);
    await admin.close();
  }

  async start(): Promise<void> {
    const { drivers, riders, idPrefix, endpoints } = this.options;
    this.drivers = await Promise.all(
      Array.from({ length: drivers }, async (_, i) => new ChaosDriver(`${idPrefix}d-${i}`, await this.client('driver', `${idPrefix}d-${i}`, i % endpoints.count), this)),
    );
    await Promise.all(this.drivers.map((d) => d.start()));
    this.riders = await Promise.all(
      Array.from({ length: riders }, async (_, i) => new ChaosRider(`${idPrefix}r-${i}`, await this.client('rider', `${idPrefix}r-${i}`, i % endpoints.count), this)),
    );
    for (const r of this.riders) r.start();
  }

  /** No new rides; the rides under way go on to their end. */
  stopRequests(): void {
    this.requestsStopped = true;
  }

  /** Riders whose last ride has not ended yet (by what they were told). */
  ridersStillRiding(): number {
    return this.riders.filter((r) => r.riding).length;
  }

  /** Drivers stop: no more reports, answers or trips ended (the state stops moving). */
  async stopDrivers(): Promise<void> {
    await Promise.all(this.drivers.map((d) => d.stop()));
  }

  /** Riders stop following their rides (after the last pushes had time to arrive). */
  async stopRiders(): Promise<void> {
    await Promise.all(this.riders.map((r) => r.stop()));
  }
}
