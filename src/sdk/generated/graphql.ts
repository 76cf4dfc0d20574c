/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** The class of car. A ride is offered only to drivers of exactly the class it asks for. */
export type CarType =
  /** A roomier, newer car. */
  | 'COMFORT'
  /** An everyday car. */
  | 'ECONOMY'
  /** A top-class car. */
  | 'PREMIUM'
  /** A large car for groups or luggage. */
  | 'XL';

/** Whether a driver wants rides (setDriverStatus). */
export type DriverStatus =
  /** Searchable while reporting locations. */
  | 'AVAILABLE'
  /** Out of search: never offered rides. */
  | 'OFFLINE';

/** A driver's position fix. A bad value is INVALID_LOCATION naming the field; nothing is written. */
export type LocationInput = {
  /** Horizontal accuracy in metres, (0, 10000]. */
  accuracyM?: number | null | undefined;
  /** Degrees clockwise from north, [0, 360). */
  heading?: number | null | undefined;
  /** Latitude, within ±85.05112878 (Redis GEO limit). */
  lat: number;
  /** Longitude, within ±180. */
  lng: number;
  /** When the device took the fix: at most 5 s ahead of the server's clock, and no older than the liveness window (30 s by default). */
  recordedAt: string;
  /** Speed in km/h, [0, 400]. */
  speedKmh?: number | null | undefined;
};

/** How the rider pays. */
export type PaymentMethod =
  /** By card. */
  | 'CARD'
  /** In cash, to the driver. */
  | 'CASH';

/** Which payment methods a driver accepts. */
export type PaymentPreference =
  /** Either: offered every ride. */
  | 'ANY'
  /** Card only: offered CARD rides. */
  | 'CARD'
  /** Cash only: offered CASH rides. */
  | 'CASH';

/** A point on the map (WGS 84). */
export type PointInput = {
  /** Latitude in degrees, within ±85.05112878. */
  lat: number;
  /** Longitude in degrees, within ±180. */
  lng: number;
};

/** What the rider asks for. */
export type RequestRideInput = {
  /** The class of car wanted. */
  carType: CarType;
  /** Idempotency key (1-64 letters, digits, - or _), unique per request the rider means: resending the same key returns the ride it created instead of creating another. */
  clientKey?: string | null | undefined;
  /** Where to go. */
  dropoff: PointInput;
  /** Only drivers rated at least this (0-5). */
  minDriverRating?: number | null | undefined;
  /** How the rider pays: only drivers who accept it are offered the ride. */
  paymentMethod: PaymentMethod;
  /** Where to be picked up: drivers are searched around it. */
  pickup: PointInput;
};

/** Why an offer was taken back. */
export type RevokeReason =
  /** The rider cancelled (also sent to an assigned driver). */
  | 'CANCELLED'
  /** The offer timed out, or the driver went offline or silent. */
  | 'EXPIRED'
  /** Another driver accepted first. */
  | 'TAKEN';

/** Where a ride stands. SEARCHING and ASSIGNED are live; the others are final. */
export type RideStatus =
  /** A driver accepted: on the way to the pickup or on the trip. */
  | 'ASSIGNED'
  /** Cancelled by the rider or an operator (endReason says which). */
  | 'CANCELLED'
  /** The trip is over. */
  | 'COMPLETED'
  /** The last round ended without an accept. */
  | 'NO_DRIVERS_AVAILABLE'
  /** Offers are out (round after round); no driver has accepted yet. */
  | 'SEARCHING';

/** A driver's whole profile: creates the driver, or replaces the profile of an existing one. */
export type UpsertDriverInput = {
  /** The class of car they drive. */
  carType: CarType;
  /** The driver's id, as the `sub` of their tokens (1-64 letters, digits, _ . : - (starting with a letter or digit)). */
  id: string | number;
  /** The name riders see (1-100 characters). */
  name: string;
  /** Which payment methods they accept. */
  paymentPreference: PaymentPreference;
  /** 0 to 5. */
  rating: number;
  /** The car and its plate (1-100 characters), e.g. "Toyota Prius, KA-01-1234". */
  vehicle: string;
};

/** A rider's whole profile: creates the rider, or replaces the profile of an existing one. */
export type UpsertRiderInput = {
  /** The rider's id, as the `sub` of their tokens (1-64 letters, digits, _ . : - (starting with a letter or digit)). */
  id: string | number;
  /** The name drivers see (1-100 characters). */
  name: string;
};

export type UpsertDriverMutationVariables = Exact<{
  input: UpsertDriverInput;
}>;


export type UpsertDriverMutation = { upsertDriver: { id: string, name: string, carType: CarType, paymentPreference: PaymentPreference, rating: number, vehicle: string, status: DriverStatus } };

export type UpsertRiderMutationVariables = Exact<{
  input: UpsertRiderInput;
}>;


export type UpsertRiderMutation = { upsertRider: { id: string, name: string } };

export type NearbyDriversQueryVariables = Exact<{
  lat: number;
  lng: number;
  radiusKm: number;
  limit?: number | null | undefined;
}>;


export type NearbyDriversQuery = { nearbyDrivers: Array<{ driverId: string, distanceKm: number, lastSeenAt: string, position: { lat: number, lng: number } }> };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me:
    | { __typename: 'Admin', id: string }
    | { __typename: 'Driver', id: string, name: string, carType: CarType, status: DriverStatus }
    | { __typename: 'Rider', id: string, name: string }
   };

export type UpdateDriverLocationMutationVariables = Exact<{
  input: LocationInput;
}>;


export type UpdateDriverLocationMutation = { updateDriverLocation: { driverId: string, cell: string, region: string, acceptedAt: string, outOfOrder: boolean, searchable: boolean } };

export type SetDriverStatusMutationVariables = Exact<{
  status: DriverStatus;
}>;


export type SetDriverStatusMutation = { setDriverStatus: { id: string, status: DriverStatus } };

export type DriverOffersSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type DriverOffersSubscription = { driverOffers:
    | { __typename: 'RideOffer', round: number, pickupDistanceKm: number, expiresAt: string, ride: { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null } }
    | { __typename: 'RideOfferRevoked', rideId: string, reason: RevokeReason }
   };

export type MyOffersQueryVariables = Exact<{ [key: string]: never; }>;


export type MyOffersQuery = { myOffers: Array<{ round: number, pickupDistanceKm: number, expiresAt: string, ride: { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null } }> };

export type AcceptRideMutationVariables = Exact<{
  rideId: string | number;
}>;


export type AcceptRideMutation = { acceptRide:
    | { __typename: 'OfferExpired', rideId: string }
    | { __typename: 'OfferNotFound', rideId: string }
    | { __typename: 'RideAlreadyTaken', rideId: string }
    | { __typename: 'RideAssignment', ride: { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null }, driver: { id: string } }
   };

export type DeclineRideMutationVariables = Exact<{
  rideId: string | number;
}>;


export type DeclineRideMutation = { declineRide:
    | { __typename: 'OfferDeclined', rideId: string }
    | { __typename: 'OfferExpired', rideId: string }
    | { __typename: 'OfferNotFound', rideId: string }
   };

export type CompleteRideMutationVariables = Exact<{
  rideId: string | number;
}>;


export type CompleteRideMutation = { completeRide: { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null } };

export type RideFieldsFragment = { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null };

export type OfferFieldsFragment = { round: number, pickupDistanceKm: number, expiresAt: string, ride: { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null } };

export type RequestRideMutationVariables = Exact<{
  input: RequestRideInput;
}>;


export type RequestRideMutation = { requestRide: { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null } };

export type RideUpdatesSubscriptionVariables = Exact<{
  rideId: string | number;
}>;


export type RideUpdatesSubscription = { rideUpdates: { status: RideStatus, reason: string | null, at: string, driverPosition: { lat: number, lng: number, at: string } | null, ride: { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null } } };

export type RideQueryVariables = Exact<{
  id: string | number;
}>;


export type RideQuery = { ride: { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null } };

export type CancelRideMutationVariables = Exact<{
  rideId: string | number;
}>;


export type CancelRideMutation = { cancelRide: { id: string, status: RideStatus, round: number, version: number, carType: CarType, paymentMethod: PaymentMethod, minDriverRating: number | null, endReason: string | null, requestedAt: string, assignedAt: string | null, endedAt: string | null, pickup: { lat: number, lng: number }, dropoff: { lat: number, lng: number }, driver: { id: string, name: string, vehicle: string, rating: number } | null } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const RideFieldsFragmentDoc = new TypedDocumentString(`
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}
    `, {"fragmentName":"RideFields"}) as unknown as TypedDocumentString<RideFieldsFragment, unknown>;
export const OfferFieldsFragmentDoc = new TypedDocumentString(`
    fragment OfferFields on RideOffer {
  round
  pickupDistanceKm
  expiresAt
  ride {
    ...RideFields
  }
}
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}`, {"fragmentName":"OfferFields"}) as unknown as TypedDocumentString<OfferFieldsFragment, unknown>;
export const UpsertDriverDocument = new TypedDocumentString(`
    mutation UpsertDriver($input: UpsertDriverInput!) {
  upsertDriver(input: $input) {
    id
    name
    carType
    paymentPreference
    rating
    vehicle
    status
  }
}
    `) as unknown as TypedDocumentString<UpsertDriverMutation, UpsertDriverMutationVariables>;
export const UpsertRiderDocument = new TypedDocumentString(`
    mutation UpsertRider($input: UpsertRiderInput!) {
  upsertRider(input: $input) {
    id
    name
  }
}
    `) as unknown as TypedDocumentString<UpsertRiderMutation, UpsertRiderMutationVariables>;
export const NearbyDriversDocument = new TypedDocumentString(`
    query NearbyDrivers($lat: Float!, $lng: Float!, $radiusKm: Float!, $limit: Int) {
  nearbyDrivers(lat: $lat, lng: $lng, radiusKm: $radiusKm, limit: $limit) {
    driverId
    distanceKm
    position {
      lat
      lng
    }
    lastSeenAt
  }
}
    `) as unknown as TypedDocumentString<NearbyDriversQuery, NearbyDriversQueryVariables>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    __typename
    ... on Driver {
      id
      name
      carType
      status
    }
    ... on Rider {
      id
      name
    }
    ... on Admin {
      id
    }
  }
}
    `) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const UpdateDriverLocationDocument = new TypedDocumentString(`
    mutation UpdateDriverLocation($input: LocationInput!) {
  updateDriverLocation(input: $input) {
    driverId
    cell
    region
    acceptedAt
    outOfOrder
    searchable
  }
}
    `) as unknown as TypedDocumentString<UpdateDriverLocationMutation, UpdateDriverLocationMutationVariables>;
export const SetDriverStatusDocument = new TypedDocumentString(`
    mutation SetDriverStatus($status: DriverStatus!) {
  setDriverStatus(status: $status) {
    id
    status
  }
}
    `) as unknown as TypedDocumentString<SetDriverStatusMutation, SetDriverStatusMutationVariables>;
export const DriverOffersDocument = new TypedDocumentString(`
    subscription DriverOffers {
  driverOffers {
    __typename
    ... on RideOffer {
      ...OfferFields
    }
    ... on RideOfferRevoked {
      rideId
      reason
    }
  }
}
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}
fragment OfferFields on RideOffer {
  round
  pickupDistanceKm
  expiresAt
  ride {
    ...RideFields
  }
}`) as unknown as TypedDocumentString<DriverOffersSubscription, DriverOffersSubscriptionVariables>;
export const MyOffersDocument = new TypedDocumentString(`
    query MyOffers {
  myOffers {
    ...OfferFields
  }
}
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}
fragment OfferFields on RideOffer {
  round
  pickupDistanceKm
  expiresAt
  ride {
    ...RideFields
  }
}`) as unknown as TypedDocumentString<MyOffersQuery, MyOffersQueryVariables>;
export const AcceptRideDocument = new TypedDocumentString(`
    mutation AcceptRide($rideId: ID!) {
  acceptRide(rideId: $rideId) {
    __typename
    ... on RideAssignment {
      ride {
        ...RideFields
      }
      driver {
        id
      }
    }
    ... on RideAlreadyTaken {
      rideId
    }
    ... on OfferNotFound {
      rideId
    }
    ... on OfferExpired {
      rideId
    }
  }
}
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}`) as unknown as TypedDocumentString<AcceptRideMutation, AcceptRideMutationVariables>;
export const DeclineRideDocument = new TypedDocumentString(`
    mutation DeclineRide($rideId: ID!) {
  declineRide(rideId: $rideId) {
    __typename
    ... on OfferDeclined {
      rideId
    }
    ... on OfferNotFound {
      rideId
    }
    ... on OfferExpired {
      rideId
    }
  }
}
    `) as unknown as TypedDocumentString<DeclineRideMutation, DeclineRideMutationVariables>;
export const CompleteRideDocument = new TypedDocumentString(`
    mutation CompleteRide($rideId: ID!) {
  completeRide(rideId: $rideId) {
    ...RideFields
  }
}
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}`) as unknown as TypedDocumentString<CompleteRideMutation, CompleteRideMutationVariables>;
export const RequestRideDocument = new TypedDocumentString(`
    mutation RequestRide($input: RequestRideInput!) {
  requestRide(input: $input) {
    ...RideFields
  }
}
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}`) as unknown as TypedDocumentString<RequestRideMutation, RequestRideMutationVariables>;
export const RideUpdatesDocument = new TypedDocumentString(`
    subscription RideUpdates($rideId: ID!) {
  rideUpdates(rideId: $rideId) {
    status
    reason
    at
    driverPosition {
      lat
      lng
      at
    }
    ride {
      ...RideFields
    }
  }
}
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}`) as unknown as TypedDocumentString<RideUpdatesSubscription, RideUpdatesSubscriptionVariables>;
export const RideDocument = new TypedDocumentString(`
    query Ride($id: ID!) {
  ride(id: $id) {
    ...RideFields
  }
}
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}`) as unknown as TypedDocumentString<RideQuery, RideQueryVariables>;
export const CancelRideDocument = new TypedDocumentString(`
    mutation CancelRide($rideId: ID!) {
  cancelRide(rideId: $rideId) {
    ...RideFields
  }
}
    fragment RideFields on Ride {
  id
  status
  round
  version
  carType
  paymentMethod
  minDriverRating
  pickup {
    lat
    lng
  }
  dropoff {
    lat
    lng
  }
  endReason
  requestedAt
  assignedAt
  endedAt
  driver {
    id
    name
    vehicle
    rating
  }
}`) as unknown as TypedDocumentString<CancelRideMutation, CancelRideMutationVariables>;