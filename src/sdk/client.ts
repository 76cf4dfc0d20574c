// The typed Ridematch SDK for TypeScript clients (driver and rider apps, simulators, the
// benchmark). Every operation is a generated TypedDocumentNode (npm run codegen), so results and
// variables are typed end to end; the same documents work in Apollo Client and urql.
//
// Transport: one lazy graphql-ws socket (socket.ts), or plain HTTP for queries and mutations
// (transport: 'http'; subscriptions always use the socket). Documents go out as persisted-operation
// hashes (persisted.ts). This file runs in browsers and Node alike: node.ts adds `ws` for Node.
// Catching up: pub/sub is at-most-once, so after a reconnect the SDK re-reads `myOffers` and
// `ride` and hands the current state to the same handlers, de-duplicated.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { operationOf } from './documents.js';
import {
  AcceptRideDocument,
  ArrivedAtPickupDocument,
  CancelRideDocument,
  CompleteRideDocument,
  DeclineRideDocument,
  DriverOffersDocument,
  EstimateRideDocument,
  MeDocument,
  MyOffersDocument,
  NearbyDriversDocument,
  RequestRideDocument,
  RideDocument,
  RideUpdatesDocument,
  SetDriverStatusDocument,
  StartTripDocument,
  TariffsDocument,
  UpdateDriverLocationDocument,
  UpsertDriverDocument,
  UpsertRiderDocument,
  type DriverOffersSubscription,
  type DriverStatus,
  type EstimateRideInput,
  type LocationInput,
  type NearbyDriversQueryVariables,
  type RequestRideInput,
  type RideUpdatesSubscription,
  type UpsertDriverInput,
  type UpsertRiderInput,
} from './generated/graphql.js';
import { httpTransport, type Vars } from './http.js';
import { PersistedDocuments } from './persisted.js';
import { socketTransport, type Handler } from './socket.js';
import type { TokenSource } from './token.js';

export { ConnectionClosedError, OutcomeUnknownError, RidematchError, type GraphQLErrorShape } from './errors.js';
export { TOKEN_EXPIRED, type Handler } from './socket.js';
export type { TokenSource } from './token.js';

export type DriverOfferEvent = DriverOffersSubscription['driverOffers'];
export type RideUpdate = RideUpdatesSubscription['rideUpdates'];

export interface RidematchClientOptions {
  /** The HTTP endpoint, e.g. http://localhost:4000/graphql (the WebSocket URL is derived). */
  url: string;
  /** A token, or a function asked for one on every (re)connect and every HTTP request. */
  token: TokenSource;
  /** Where queries and mutations go; subscriptions always use the socket. Default 'ws'. */
  transport?: 'ws' | 'http';
  /** WebSocket implementation; defaults to the global one (browsers, Node ≥ 22; node.ts: `ws`). */
  webSocketImpl?: unknown;
  /** Send documents as persisted-operation hashes (falls back to text per document). Default true. */
  persisted?: boolean;
  retryAttempts?: number;
  keepAliveMs?: number;
  /** Called after the socket came back (after the SDK's own catch-up reads started). */
  onReconnected?: () => void;
}

/** The SDK's mutations may be resent after a reconnect: each is idempotent by construction. */
const IDEMPOTENT_MUTATIONS = new Set<unknown>([
  UpdateDriverLocationDocument, // order-guarded by recordedAt: a resend answers outOfOrder
  SetDriverStatusDocument,
  AcceptRideDocument, // the winner asking again hears the same answer
  DeclineRideDocument,
  ArrivedAtPickupDocument, // a state machine: the same step twice answers the same
  StartTripDocument,
  CompleteRideDocument,
  CancelRideDocument,
  UpsertDriverDocument,
  UpsertRiderDocument,
  // RequestRideDocument only with a clientKey: requestRide() always sends one.
]);

/** A fresh idempotency key (crypto.randomUUID where the platform has it). */
const newClientKey = (): string =>
  globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

export function createRidematchClient(options: RidematchClientOptions) {
  const catchUps = new Set<() => void>();
  const persisted = new PersistedDocuments(options.persisted ?? true);
  const ws = socketTransport({
    url: options.url.replace(/^http/, 'ws'),
    token: options.token,
    webSocketImpl: options.webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket,
    persisted,
    retryAttempts: options.retryAttempts ?? Number.POSITIVE_INFINITY,
    keepAliveMs: options.keepAliveMs ?? 10_000,
    onReconnected: () => {
      for (const catchUp of catchUps) catchUp();
      options.onReconnected?.();
    },
  });
  const overHttp = httpTransport({ url: options.url, token: options.token, persisted });

  /**
   * Runs a query or mutation over the configured transport. Over the socket, a mutation is
   * resent after a reconnect only when it is idempotent: one of the SDK's own, or one the caller
   * vouches for (`{ idempotent: true }`, e.g. requestRide with a clientKey). Otherwise a dropped
   * socket rejects the call with OutcomeUnknownError.
   */
  function request<R, V extends Vars>(doc: TypedDocumentNode<R, V>, variables: V, opts: { idempotent?: boolean } = {}): Promise<R> {
    if (options.transport === 'http') return overHttp(doc, variables);
    const resendable = opts.idempotent ?? (operationOf(doc).kind !== 'mutation' || IDEMPOTENT_MUTATIONS.has(doc));
    return ws.request(doc, variables, resendable);
  }

  const subscribe = ws.subscribe;
  const myOffers = () => request(MyOffersDocument, {}).then((d) => d.myOffers);
  const ride = (id: string) => request(RideDocument, { id }).then((d) => d.ride);

  return {
    /** The underlying graphql-ws client (for events such as 'connected' and 'closed'). */
    socket: ws.client,
    request,
    subscribe,

    // ── Driver ──
    updateDriverLocation: (input: LocationInput) =>
      request(UpdateDriverLocationDocument, { input }).then((d) => d.updateDriverLocation),
    setDriverStatus: (status: DriverStatus) => request(SetDriverStatusDocument, { status }).then((d) => d.setDriverStatus),
    acceptRide: (rideId: string) => request(AcceptRideDocument, { rideId }).then((d) => d.acceptRide),
    declineRide: (rideId: string) => request(DeclineRideDocument, { rideId }).then((d) => d.declineRide),
    arrivedAtPickup: (rideId: string) => request(ArrivedAtPickupDocument, { rideId }).then((d) => d.arrivedAtPickup),
    startTrip: (rideId: string) => request(StartTripDocument, { rideId }).then((d) => d.startTrip),
    completeRide: (rideId: string) => request(CompleteRideDocument, { rideId }).then((d) => d.completeRide),
    myOffers,
    /** The caller's offers feed. Live offers are (re)delivered after every reconnect, once each. */
    driverOffers(handler: Handler<DriverOfferEvent>): () => void {
      const delivered = new Set<string>();
      const deliver = (event: DriverOfferEvent) => {
        if (event.__typename === 'RideOffer') {
          const key = `${event.ride.id}#${event.round}`;
          if (delivered.has(key)) return;
          if (delivered.size > 10_000) delivered.clear();
          delivered.add(key);
        }
        handler.next(event);
      };
      const catchUp = () =>
        void myOffers().then((offers) => offers.forEach((o) => deliver({ __typename: 'RideOffer', ...o })), handler.error);
      catchUps.add(catchUp);
      const stop = subscribe(DriverOffersDocument, {}, { next: (d) => deliver(d.driverOffers), error: handler.error });
      return () => {
        catchUps.delete(catchUp);
        stop();
      };
    },

    // ── Rider ──
    /** Always idempotent: without a clientKey of the caller's, the SDK makes one (a resend returns the same ride). */
    requestRide: (input: RequestRideInput) =>
      request(RequestRideDocument, { input: { ...input, clientKey: input.clientKey ?? newClientKey() } }, { idempotent: true }).then((d) => d.requestRide),
    cancelRide: (rideId: string) => request(CancelRideDocument, { rideId }).then((d) => d.cancelRide),
    /** A price for a trip, honoured by requestRide({ estimateId }) while it is valid (estimates may be asked again freely). */
    estimateRide: (input: EstimateRideInput) => request(EstimateRideDocument, { input }, { idempotent: true }).then((d) => d.estimateRide),
    tariffs: () => request(TariffsDocument, {}).then((d) => d.tariffs),
    ride,
    /** A ride's state now, then every change; re-read after every reconnect, never older versions. */
    rideUpdates(rideId: string, handler: Handler<RideUpdate>): () => void {
      let version = -1;
      const deliver = (update: RideUpdate) => {
        if (update.ride.version < version) return;
        version = update.ride.version;
        handler.next(update);
      };
      const catchUp = () =>
        void ride(rideId).then(
          (r) => deliver({ status: r.status, reason: r.endReason, at: new Date().toISOString(), driverPosition: null, etaMinutes: null, ride: r }),
          handler.error,
        );
      catchUps.add(catchUp);
      const stop = subscribe(RideUpdatesDocument, { rideId }, { next: (d) => deliver(d.rideUpdates), error: handler.error });
      return () => {
        catchUps.delete(catchUp);
        stop();
      };
    },

    // ── Admin ──
    upsertDriver: (input: UpsertDriverInput) => request(UpsertDriverDocument, { input }).then((d) => d.upsertDriver),
    upsertRider: (input: UpsertRiderInput) => request(UpsertRiderDocument, { input }).then((d) => d.upsertRider),
    nearbyDrivers: (vars: NearbyDriversQueryVariables) => request(NearbyDriversDocument, vars).then((d) => d.nearbyDrivers),
    me: () => request(MeDocument, {}).then((d) => d.me),

    close: () => ws.client.dispose(),
  };
}

export type RidematchClient = ReturnType<typeof createRidematchClient>;
