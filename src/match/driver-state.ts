// Dispatch state of drivers, kept in each driver's Redis record (see geo/lua/driver_record.lua):
// FREE, OFFERED (reserved for one ride until an expiry) or ON_RIDE. Reservation is atomic, so a
// driver holds at most one live offer. Postgres stays the source of truth; when a record is new
// (its shard was lost or it expired) restoreFromDb() rebuilds the state from it.
import type { Db } from '../db/client.ts';
import { driverKey, driverRoute } from '../redis/keys.ts';
import type { ShardRouter } from '../redis/shard-router.ts';

export class DriverStates {
  constructor(
    private readonly router: ShardRouter,
    private readonly db: Db,
    private readonly recordTtlMs: number,
  ) {}

  /** True when the driver is now reserved for this ride's offer until `untilMs`. */
  async reserve(driverId: string, rideId: string, untilMs: number): Promise<boolean> {
    const reply = await this.router.write(driverRoute(driverId), (redis) => redis.reserve(driverKey(driverId), rideId, untilMs));
    return Number(reply) === 1;
  }

  async release(driverId: string, rideId: string): Promise<void> {
    await this.router.write(driverRoute(driverId), (redis) => redis.release(driverKey(driverId), rideId));
  }

  async assign(driverId: string, rideId: string): Promise<void> {
    await this.router.write(driverRoute(driverId), (redis) => redis.assign(driverKey(driverId), rideId, this.recordTtlMs));
  }

  /** Server time (ms) each driver was last heard from; null when the driver has no record. */
  async lastSeen(driverIds: string[]): Promise<Map<string, number | null>> {
    const entries = await Promise.all(
      driverIds.map(async (id) => {
        const seen = await this.router.write(driverRoute(id), (redis) => redis.hget(driverKey(id), 'seen'));
        return [id, seen === null ? null : Number(seen)] as const;
      }),
    );
    return new Map(entries);
  }

  /** Last reported position of a driver (kept on the record by every ping). */
  async position(driverId: string): Promise<{ lat: number; lng: number; at: Date } | null> {
    const [lat, lng, seen] = await this.router.write(driverRoute(driverId), (redis) =>
      redis.hmget(driverKey(driverId), 'lat', 'lng', 'seen'),
    );
    if (lat == null || lng == null || seen == null) return null;
    return { lat: Number(lat), lng: Number(lng), at: new Date(Number(seen)) };
  }

  /** Rebuilds an UNKNOWN record's dispatch state from Postgres (the location index calls this). */
  async restoreFromDb(driverId: string): Promise<void> {
    const [active, offer] = await Promise.all([
      this.db.ride.findFirst({ where: { driverId, status: 'ASSIGNED' }, select: { id: true } }),
      this.db.rideOffer.findFirst({
        where: { driverId, status: 'OFFERED', expiresAt: { gt: new Date() }, ride: { status: 'SEARCHING' } },
        select: { rideId: true, expiresAt: true },
      }),
    ]);
    const [state, rideId, until] = active
      ? ['ON_RIDE', active.id, '']
      : offer
        ? ['OFFERED', offer.rideId, String(offer.expiresAt.getTime())]
        : ['FREE', '', ''];
    await this.router.write(driverRoute(driverId), (redis) => redis.restore(driverKey(driverId), state, rideId, until));
  }
}
