// The assigned driver's position, pushed to the rider while the trip runs: at most once per
// POSITION_PUSH_INTERVAL_MS per ride, the latest position winning (a ping inside the interval is
// held and sent when it ends, replaced by any newer one). Fed by the location pings of drivers
// whose record says ON_RIDE, with nothing read: it costs free drivers' pings nothing. A driver's
// pings arrive over its one socket, so one instance throttles each ride.
import type { Events, RidePosition } from '../pubsub.ts';

interface Pending {
  lastSentAt: number;
  next: RidePosition | null;
  timer: NodeJS.Timeout | null;
}

export class TripTracking {
  private readonly rides = new Map<string, Pending>();

  constructor(
    private readonly events: Events,
    private readonly intervalMs: number,
  ) {}

  moved(rideId: string, driverId: string, p: { lat: number; lng: number; at: Date }): void {
    const position: RidePosition = { kind: 'position', rideId, driverId, lat: p.lat, lng: p.lng, at: p.at };
    const now = Date.now();
    const ride = this.rides.get(rideId) ?? { lastSentAt: 0, next: null, timer: null };
    this.rides.set(rideId, ride);
    if (now - ride.lastSentAt >= this.intervalMs && !ride.timer) return this.send(ride, position, now);
    ride.next = position;
    ride.timer ??= setTimeout(() => {
      ride.timer = null;
      if (ride.next) this.send(ride, ride.next, Date.now());
    }, Math.max(0, ride.lastSentAt + this.intervalMs - now));
    ride.timer.unref();
  }

  private send(ride: Pending, position: RidePosition, now: number): void {
    ride.lastSentAt = now;
    ride.next = null;
    void this.events.publishRidePosition(position);
    // Forget rides not heard from for a while, so the map does not grow with every trip.
    if (this.rides.size > 10_000) for (const [id, r] of this.rides) if (!r.timer && now - r.lastSentAt > 60_000) this.rides.delete(id);
  }

  stop(): void {
    for (const ride of this.rides.values()) if (ride.timer) clearTimeout(ride.timer);
    this.rides.clear();
  }
}
