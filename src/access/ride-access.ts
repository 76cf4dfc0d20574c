// Who may read a ride: a relation, not a role. A rider reads its own rides; a driver reads a
// ride while it holds a live offer for it or is (or was) its assigned driver; an admin reads
// all. Once a driver's offer is declined, expired or lost to another driver, the ride and its
// rider are none of its business. The only place these rules are written.
import type { Identity } from '../auth.ts';
import type { Db } from '../db/client.ts';
import type { RideView } from '../match/ride-view.ts';

export type RideRelation = 'admin' | 'rider' | 'assigned-driver' | 'offered-driver' | null;

export class RideAccess {
  constructor(private readonly db: Db) {}

  async relation(identity: Identity, ride: Pick<RideView, 'id' | 'riderId' | 'driverId' | 'status'>): Promise<RideRelation> {
    switch (identity.role) {
      case 'admin':
        return 'admin';
      case 'rider':
        return ride.riderId === identity.id ? 'rider' : null;
      case 'driver':
        if (ride.driverId === identity.id) return 'assigned-driver';
        if (ride.status !== 'SEARCHING') return null;
        return (await this.holdsLiveOffer(identity.id, ride.id)) ? 'offered-driver' : null;
    }
  }

  private async holdsLiveOffer(driverId: string, rideId: string): Promise<boolean> {
    const rows = await this.db.$queryRaw<Array<{ one: number }>>`
      SELECT 1 AS one FROM "RideOffer"
       WHERE "rideId" = ${rideId}::uuid AND "driverId" = ${driverId} AND status = 'OFFERED' AND "expiresAt" > now()`;
    return rows.length > 0;
  }
}
