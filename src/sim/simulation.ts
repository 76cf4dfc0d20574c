// A city of simulated drivers and riders, built only on the typed SDK. Drivers move at street
// speeds, report every few seconds over their socket, and accept or decline offers with a human
// delay; riders request rides at a steady rate and follow them until a driver is assigned.
import { signToken } from '../auth.ts';
import { createRidematchClient, type RidematchClient } from '../sdk/node.ts';
import type { CarType, PaymentMethod, PaymentPreference } from '../sdk/generated/graphql.ts';
import { fmtSeconds, Rate, Samples } from './stats.ts';

export interface BoundingBox {
  minLat: number;
  minLng: number;
  maxLat: number;
  maxLng: number;
}

export interface SimulationOptions {
  url: string;
  jwtSecret: string;
  drivers: number;
  riders: number;
  rideRatePerSecond: number;
  bbox: BoundingBox;
  reportIntervalMs: number;
  acceptProbability: number;
  /** Human reaction time before answering an offer, uniform in [min, max]. */
  answerDelayMs: [number, number];
  /** How long an assigned ride lasts before the driver completes it. */
  tripMs: [number, number];
  /** Prefix for the simulated ids, so runs do not collide. */
  idPrefix: string;
}

export interface SimulationStats {
  connected: number;
  updatesPerSecond: number;
  updates: number;
  failedUpdates: number;
  requested: number;
  assigned: number;
  noDriver: number;
  searching: number;
  timeToMatch: Samples;
}

const CAR_TYPES: CarType[] = ['ECONOMY', 'ECONOMY', 'ECONOMY', 'COMFORT', 'PREMIUM', 'XL'];
const PREFERENCES: PaymentPreference[] = ['ANY', 'ANY', 'CASH', 'CARD'];
const PAYMENTS: PaymentMethod[] = ['CARD', 'CASH'];
const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)]!;
export const between = ([min, max]: [number, number]) => min + Math.random() * (max - min);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function randomPoint(b: BoundingBox) {
  return { lat: b.minLat + Math.random() * (b.maxLat - b.minLat), lng: b.minLng + Math.random() * (b.maxLng - b.minLng) };
}

class SimDriver {
  position: { lat: number; lng: number };
  private headingDeg = Math.random() * 360;
  private readonly speedKmh = 15 + Math.random() * 35;
  private busyUntil = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly client: RidematchClient,
    private readonly sim: Simulation,
  ) {
    this.position = randomPoint(sim.options.bbox);
  }

  async start(): Promise<void> {
    this.client.driverOffers({
      next: (event) => {
        if (event.__typename === 'RideOffer') void this.answer(event.ride.id);
      },
      error: () => {},
    });
    await this.report();
    const jitter = Math.random() * this.sim.options.reportIntervalMs;
    this.timer = setTimeout(() => {
      this.timer = setInterval(() => void this.report(), this.sim.options.reportIntervalMs);
    }, jitter);
  }

  /** Moves along a slowly drifting heading at street speed, bouncing off the box edges. */
  private move(seconds: number): void {
    this.headingDeg += (Math.random() - 0.5) * 40;
    const km = (this.speedKmh * seconds) / 3600;
    const rad = (this.headingDeg * Math.PI) / 180;
    const b = this.sim.options.bbox;
    let lat = this.position.lat + (km * Math.cos(rad)) / 110.574;
    let lng = this.position.lng + (km * Math.sin(rad)) / (111.32 * Math.cos((lat * Math.PI) / 180));
    if (lat < b.minLat || lat > b.maxLat || lng < b.minLng || lng > b.maxLng) {
      this.headingDeg += 180;
      lat = Math.min(b.maxLat, Math.max(b.minLat, lat));
      lng = Math.min(b.maxLng, Math.max(b.minLng, lng));
    }
    this.position = { lat, lng };
  }

  private async report(): Promise<void> {
    this.move(this.sim.options.reportIntervalMs / 1000);
    try {
      await this.client.updateDriverLocation({ ...this.position, speedKmh: this.speedKmh, accuracyM: 8, recordedAt: new Date().toISOString() });
      this.sim.updateRate.hit();
      this.sim.stats.updates += 1;
    } catch {
      this.sim.stats.failedUpdates += 1;
    }
  }

  private async answer(rideId: string): Promise<void> {
    if (Date.now() < this.busyUntil) return;
    await sleep(between(this.sim.options.answerDelayMs));
    if (Math.random() >= this.sim.options.acceptProbability) {
      await this.client.declineRide(rideId).catch(() => {});
      return;
    }
    const result = await this.client.acceptRide(rideId).catch(() => null);
    if (result?.__typename !== 'RideAssignment') return;
    // The whole trip: a quarter of the time to reach the pickup, the rest with the rider aboard.
    const trip = between(this.sim.options.tripMs);
    this.busyUntil = Date.now() + trip;
    await sleep(trip / 4);
    await this.client.arrivedAtPickup(rideId).catch(() => {});
    await this.client.startTrip(rideId).catch(() => {});
    await sleep((trip * 3) / 4);
    await this.client.completeRide(rideId).catch(() => {});
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer); // clears the first timeout as well as the interval
  }
}

class SimRider {
  busy = false;
  constructor(
    readonly id: string,
    readonly client: RidematchClient,
    private readonly sim: Simulation,
  ) {}

  /** Requests a ride and follows it until it is assigned or ends without a driver. */
  async ride(): Promise<void> {
    this.busy = true;
    const stats = this.sim.stats;
    const pickup = randomPoint(this.sim.options.bbox);
    const sentAt = Date.now();
    stats.requested += 1;
    stats.searching += 1;
    try {
      // As an app does: a price first, then the request at that price.
      const trip = { pickup, dropoff: randomPoint(this.sim.options.bbox), carType: pick(CAR_TYPES) };
      const estimate = await this.client.estimateRide(trip);
      const ride = await this.client.requestRide({ ...trip, paymentMethod: pick(PAYMENTS), estimateId: estimate.id });
      await new Promise<void>((resolve) => {
        const stop = this.client.rideUpdates(ride.id, {
          next: (update) => {
            if (update.status === 'SEARCHING') return;
            if (update.status === 'ASSIGNED') {
              stats.assigned += 1;
              stats.timeToMatch.add(Date.now() - sentAt);
            } else if (update.status === 'NO_DRIVERS_AVAILABLE') stats.noDriver += 1;
            stop();
            resolve();
          },
          error: () => (stop(), resolve()),
        });
      });
    } catch {
      // counted as neither assigned nor no-driver
    } finally {
      stats.searching -= 1;
      this.busy = false;
    }
  }
}

export class Simulation {
  readonly stats: SimulationStats = {
    connected: 0,
    updatesPerSecond: 0,
    updates: 0,
    failedUpdates: 0,
    requested: 0,
    assigned: 0,
    noDriver: 0,
    searching: 0,
    timeToMatch: new Samples(),
  };
  readonly updateRate = new Rate();
  private drivers: SimDriver[] = [];
  private riders: SimRider[] = [];
  private rideTimer: NodeJS.Timeout | null = null;

  constructor(readonly options: SimulationOptions) {}

  private async client(role: 'driver' | 'rider' | 'admin', id: string, transport: 'ws' | 'http' = 'ws') {
    const token = await signToken(this.options.jwtSecret, { role, id });
    return createRidematchClient({ url: this.options.url, token, transport });
  }

  /** Registers the simulated drivers and riders (idempotent) through the admin operations. */
  async register(log: (line: string) => void): Promise<void> {
    const admin = await this.client('admin', 'simulator');
    const { idPrefix, drivers, riders } = this.options;
    for (let i = 0; i < drivers; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, drivers - i) }, (_, k) =>
          admin.upsertDriver({
            id: `${idPrefix}d-${i + k}`,
            name: `Sim driver ${i + k}`,
            carType: pick(CAR_TYPES),
            paymentPreference: pick(PREFERENCES),
            rating: Math.round((3.8 + Math.random() * 1.2) * 10) / 10,
            vehicle: 'Simulated car',
          }),
        ),
      );
    }
    await Promise.all(Array.from({ length: riders }, (_, i) => admin.upsertRider({ id: `${idPrefix}r-${i}`, name: `Sim rider ${i}` })));
    await admin.close();
    log(`registered ${drivers} drivers and ${riders} riders`);
  }

  async start(): Promise<void> {
    const { idPrefix } = this.options;
    this.drivers = await Promise.all(
      Array.from({ length: this.options.drivers }, async (_, i) => {
        const client = await this.client('driver', `${idPrefix}d-${i}`);
        client.socket.on('connected', () => (this.stats.connected += 1));
        client.socket.on('closed', () => (this.stats.connected = Math.max(0, this.stats.connected - 1)));
        return new SimDriver(`${idPrefix}d-${i}`, client, this);
      }),
    );
    // Connect gradually, as a fleet coming online does (and as a load balancer would like).
    for (let i = 0; i < this.drivers.length; i += 50) await Promise.all(this.drivers.slice(i, i + 50).map((d) => d.start()));
    this.riders = await Promise.all(
      Array.from({ length: this.options.riders }, async (_, i) => new SimRider(`${idPrefix}r-${i}`, await this.client('rider', `${idPrefix}r-${i}`), this)),
    );
    const everyMs = 1000 / this.options.rideRatePerSecond;
    this.rideTimer = setInterval(() => {
      const rider = this.riders.find((r) => !r.busy);
      if (rider) void rider.ride();
    }, everyMs);
  }

  progressLine(): string {
    const s = this.stats;
    const t = s.timeToMatch;
    return (
      `drivers ${s.connected}/${this.options.drivers} connected | ${this.updateRate.perSecond()} updates/s` +
      ` | rides ${s.requested} requested, ${s.assigned} assigned, ${s.noDriver} no driver, ${s.searching} searching` +
      ` | time to match p50 ${fmtSeconds(t.percentile(50))} p99 ${fmtSeconds(t.percentile(99))}`
    );
  }

  async stop(): Promise<void> {
    if (this.rideTimer) clearInterval(this.rideTimer);
    for (const d of this.drivers) d.stop();
    await Promise.all([...this.drivers, ...this.riders].map((a) => a.client.close()));
  }
}
