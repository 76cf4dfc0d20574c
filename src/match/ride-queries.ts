// Reading rides and offers: what the API shows, and what subscriptions re-read to catch up.
import { BatchedReads } from '../db/batched-reads.ts';
import type { Db } from '../db/client.ts';
import type { RevokeReason } from '../pubsub.ts';
import { validateRideId } from './ride-ids.ts';
import { isTrip } from './ride-status.ts';
import { toRideView, type RideView } from './ride-view.ts';

export interface OfferView {
  ride: RideView;
  pickupDistanceKm: number;
  expiresAt: Date;
  round: number;
}

export class RideQueries {
  constructor(private readonly db: Db) {}

  async ride(rideId: string): Promise<RideView | null> {
    validateRideId(rideId);
    const row = await this.db.ride.findUnique({ where: { id: rideId } });
    return row && toRideView(row);
  }

  /** The driver's live offers (by Postgres' clock): what their feed pushed, readable again after a reconnect. */
  liveOffers(driverId: string): Promise<OfferView[]> {
    return this.liveOffersOfDrivers.read(driverId);
  }

  /** Every driver's feed reads this when it opens: drivers reconnecting together share one query. */
  private readonly liveOffersOfDrivers = new BatchedReads<string, OfferView[]>(async (driverIds) => {
    const live = await this.db.$queryRaw<Array<{ id: string }>>`
      SELECT o.id FROM "RideOffer" o JOIN "Ride" r ON r.id = o."rideId"
       WHERE o."driverId" = ANY(${driverIds}) AND o.status = 'OFFERED' AND o."expiresAt" > now() AND r.status = 'SEARCHING'`;
    const byDriver = new Map<string, OfferView[]>();
    if (live.length === 0) return byDriver;
    const offers = await this.db.rideOffer.findMany({
      where: { id: { in: live.map((o) => o.id) } },
      include: { ride: true },
      orderBy: { sentAt: 'asc' },
    });
    for (const o of offers) {
      const view = { ride: toRideView(o.ride), pickupDistanceKm: o.pickupDistanceKm, expiresAt: o.expiresAt, round: o.round };
      byDriver.set(o.driverId, [...(byDriver.get(o.driverId) ?? []), view]);
    }
    return byDriver;
  }, []);

  /**
   * Why offers this driver was told about are no longer live (for a feed catching up after the
   * bus was away): TAKEN, CANCELLED or EXPIRED. Offers the driver answered itself are left out,
   * unless the ride it accepted was cancelled afterwards.
   */
  async endedOffers(driverId: string, rideIds: string[]): Promise<Array<{ rideId: string; reason: RevokeReason }>> {
    if (rideIds.length === 0) return [];
    const offers = await this.db.rideOffer.findMany({
      where: {
        driverId,
        rideId: { in: rideIds },
        // An accepted offer ended too if its trip was cancelled: the driver must hear it.
        OR: [{ status: { in: ['EXPIRED', 'REVOKED'] } }, { status: 'ACCEPTED', ride: { status: 'CANCELLED' } }],
      },
      include: { ride: { select: { status: true, driverId: true } } },
    });
    return offers.map((o) => ({
      rideId: o.rideId,
      reason: o.status === 'EXPIRED' ? 'EXPIRED' : isTrip(o.ride.status) || o.ride.status === 'COMPLETED' ? 'TAKEN' : 'CANCELLED',
    }));
  }
}
