// The shape of a ride that the API shows and that events carry (a snapshot, so pushing an offer
// to a driver needs no database read per event).
import type { CarType, PaymentMethod, RideStatus } from '../generated/prisma/enums.ts';
import type { Ride } from '../generated/prisma/client.ts';

export interface LatLng {
  lat: number;
  lng: number;
}

export interface RideView {
  id: string;
  riderId: string;
  pickup: LatLng;
  dropoff: LatLng;
  carType: CarType;
  paymentMethod: PaymentMethod;
  minDriverRating: number | null;
  status: RideStatus;
  driverId: string | null;
  round: number;
  version: number;
  endReason: string | null;
  requestedAt: Date;
  assignedAt: Date | null;
  endedAt: Date | null;
}

export function toRideView(row: Ride): RideView {
  return {
    id: row.id,
    riderId: row.riderId,
    pickup: { lat: row.pickupLat, lng: row.pickupLng },
    dropoff: { lat: row.dropoffLat, lng: row.dropoffLng },
    carType: row.carType,
    paymentMethod: row.paymentMethod,
    minDriverRating: row.minDriverRating,
    status: row.status,
    driverId: row.driverId,
    round: row.round,
    version: row.version,
    endReason: row.endReason,
    requestedAt: row.requestedAt,
    assignedAt: row.assignedAt,
    endedAt: row.endedAt,
  };
}
