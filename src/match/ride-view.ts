// The shape of a ride that the API shows and that events carry (a snapshot, so pushing an offer
// to a driver needs no database read per event).
import type { CarType, PaymentMethod, RideStatus } from '../generated/prisma/enums.ts';
import type { Ride } from '../generated/prisma/client.ts';

export interface LatLng {
  lat: number;
  lng: number;
}

export interface RideQuote {
  estimateId: string | null;
  total: number;
  currency: string;
  surgeMultiplier: number;
}

export interface RideFare {
  total: number;
  currency: string;
  travelledKm: number;
  tripMinutes: number;
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
  quote: RideQuote | null;
  fare: RideFare | null;
  requestedAt: Date;
  scheduledAt: Date | null;
  dispatchedAt: Date | null;
  assignedAt: Date | null;
  arrivedAt: Date | null;
  startedAt: Date | null;
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
    quote:
      row.quotedTotal !== null && row.currency
        ? { estimateId: row.estimateId, total: row.quotedTotal, currency: row.currency, surgeMultiplier: row.surgeMultiplier ?? 1 }
        : null,
    fare:
      row.finalFare !== null && row.currency
        ? { total: row.finalFare, currency: row.currency, travelledKm: row.travelledKm ?? 0, tripMinutes: row.tripMinutes ?? 0 }
        : null,
    requestedAt: row.requestedAt,
    scheduledAt: row.scheduledAt,
    dispatchedAt: row.dispatchedAt,
    assignedAt: row.assignedAt,
    arrivedAt: row.arrivedAt,
    startedAt: row.startedAt,
    endedAt: row.endedAt,
  };
}
