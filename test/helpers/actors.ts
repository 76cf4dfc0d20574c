// Drivers and riders as the apps behave: a driver holds one graphql-ws socket, reports its
// position over it and listens to its offers feed; a rider requests and follows a ride.
import type { DriverProfile } from '../../src/registry/registry.ts';
import { topics } from '../../src/pubsub.ts';
import { eventually, wsConnect, type Subscription, type WsClient } from './graphql.ts';
import type { Stack } from './stack.ts';
import { Redis } from 'ioredis';

export const OFFERS = /* GraphQL */ `
  subscription Offers {
    driverOffers {
      __typename
      ... on RideOffer { round pickupDistanceKm expiresAt ride { id status carType paymentMethod pickup { lat lng } } }
      ... on RideOfferRevoked { rideId reason }
      ... on DriverAccountNotice { status detail }
    }
  }`;
export const ACCEPT = /* GraphQL */ `
  mutation Accept($rideId: ID!) {
    acceptRide(rideId: $rideId) {
      __typename
      ... on RideAssignment { ride { id status driver { id } } driver { id } }
      ... on RideAlreadyTaken { rideId }
      ... on OfferNotFound { rideId }
      ... on OfferExpired { rideId }
    }
  }`;
export const DECLINE = /* GraphQL */ `
  mutation Decline($rideId: ID!) { declineRide(rideId: $rideId) { __typename ... on OfferDeclined { rideId } } }`;
export const REQUEST = /* GraphQL */ `
  mutation Request($input: RequestRideInput!) { requestRide(input: $input) { id status round carType } }`;
export const RIDE_UPDATES = /* GraphQL */ `
  subscription Updates($rideId: ID!) {
    rideUpdates(rideId: $rideId) { status reason driver { id } driverPosition { lat lng } ride { id round version } }
  }`;
export const UPDATE_LOCATION = /* GraphQL */ `
  mutation Update($input: LocationInput!) { updateDriverLocation(input: $input) { outOfOrder searchable } }`;
export const MY_OFFERS = /* GraphQL */ `query { myOffers { round expiresAt ride { id } } }`;

export interface DriverApp {
  profile: DriverProfile;
  ws: WsClient;
  offers: Subscription<any>;
  report(p: { lat: number; lng: number }): Promise<void>;
  accept(rideId: string): Promise<any>;
  decline(rideId: string): Promise<any>;
  /** The next feed event of the given type (skipping others). */
  nextEvent(type: 'RideOffer' | 'RideOfferRevoked', timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

/** Resolves once the bus has a live SUBSCRIBE for this driver's feed (pub/sub is at-most-once). */
export async function waitForFeed(stack: Stack, driverId: string, bus?: Redis): Promise<void> {
  const redis = bus ?? new Redis(stack.bus.port);
  try {
    await eventually(async () => {
      const [, count] = (await redis.pubsub('NUMSUB', topics.driverOffers(driverId))) as [string, number];
      return Number(count) >= 1;
    }, 5_000, 10);
  } finally {
    if (!bus) redis.disconnect();
  }
}

export async function connectDriver(stack: Stack, wsUrl: string, profile: DriverProfile): Promise<DriverApp> {
  const ws = wsConnect(wsUrl, await stack.token('driver', profile.id));
  await ws.connected;
  const offers = ws.subscribe<any>(OFFERS);
  await waitForFeed(stack, profile.id);
  let cursor = 0;
  const app: DriverApp = {
    profile,
    ws,
    offers,
    report: async (p) => {
      const res = await ws.request(UPDATE_LOCATION, { input: { ...p, recordedAt: new Date().toISOString() } });
      if (res.errors) throw new Error(`report failed: ${res.errors[0]!.message}`);
    },
    accept: async (rideId) => (await ws.request(ACCEPT, { rideId })).data?.acceptRide,
    decline: async (rideId) => (await ws.request(DECLINE, { rideId })).data?.declineRide,
    nextEvent: async (type, timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (cursor < offers.received.length) {
          const event = offers.received[cursor++]!.data?.driverOffers;
          if (event?.__typename === type) return event;
        }
        if (Date.now() > deadline) throw new Error(`driver ${profile.id}: no ${type} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => ws.close(),
  };
  return app;
}

/** Feed events received so far, as plain objects. */
export const feed = (d: DriverApp) => d.offers.received.map((r) => r.data?.driverOffers);
