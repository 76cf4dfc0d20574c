// Telling people: offers to drivers' feeds, revokes (which also free the driver's reservation),
// and ride updates to whoever follows the ride. Called only after Postgres committed what is
// told, and never blocking on the bus (Events publishes with a short timeout).
import type { DriverRecords } from '../drivers/driver-records.ts';
import type { Ride } from '../generated/prisma/client.ts';
import type { Events, RevokeReason } from '../pubsub.ts';
import { isTrip } from './ride-status.ts';
import { toRideView, type RideView } from './ride-view.ts';

export interface OfferAnnouncement {
  driverId: string;
  pickupDistanceKm: number;
  expiresAt: Date;
}

export class Notifier {
  constructor(
    private readonly events: Events,
    private readonly records: DriverRecords,
  ) {}

  /** Pushes each offer to its driver's feed. */
  async announceOffers(ride: RideView, offers: OfferAnnouncement[]): Promise<void> {
    await Promise.all(
      offers.map((o) =>
        this.events.publishOffer(o.driverId, { kind: 'offer', ride, pickupDistanceKm: o.pickupDistanceKm, expiresAt: o.expiresAt, round: ride.round }),
      ),
    );
  }

  /** Frees the driver's reservation for this ride and tells them the offer is gone. */
  async revoke(driverId: string, rideId: string, reason: RevokeReason): Promise<void> {
    await Promise.all([
      this.records.release(driverId, rideId),
      this.events.publishOffer(driverId, { kind: 'revoked', rideId, reason }),
    ]);
  }

  async rideChanged(row: Ride): Promise<void> {
    const driverPosition = row.driverId && isTrip(row.status) ? await this.records.position(row.driverId).catch(() => null) : null;
    await this.events.publishRideUpdate({ ride: toRideView(row), at: new Date(), reason: row.endReason, driverPosition });
  }
}
