// The typed Ridematch SDK for TypeScript clients (driver and rider apps, simulators, the
// benchmark). Every operation is a generated TypedDocumentString (npm run codegen), so results
// and variables are typed end to end.
//
// Transport: one lazy graphql-ws socket (a driver's persistent connection: location updates,
// offers feed, accept/decline), retried with exponential backoff and kept alive with pings; or
// plain HTTP for queries and mutations (transport: 'http').
// Catching up: pub/sub is at-most-once, so after a reconnect the SDK re-reads `myOffers` and
// `ride` and hands the current state to the same handlers, de-duplicated.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import {
  AcceptRideDocument,
  CancelRideDocument,
  CompleteRideDocument,
  DeclineRideDocument,
  DriverOffersDocument,
  MeDocument,
  MyOffersDocument,
  NearbyDriversDocument,
  RequestRideDocument,
  RideDocument,
  RideUpdatesDocument,
  SetDriverStatusDocument,
  UpdateDriverLocationDocument,
  UpsertDriverDocument,
  UpsertRiderDocument,
  type DriverOffersSubscription,
  type DriverStatus,
  type LocationInput,
  type NearbyDriversQueryVariables,
  type RequestRideInput,
  type RideUpdatesSubscription,
  type TypedDocumentString,
  type UpsertDriverInput,
  type UpsertRiderInput,
} from './generated/graphql.ts';

export type DriverOfferEvent = DriverOffersSubscription['driverOffers'];
export type RideUpdate = RideUpdatesSubscription['rideUpdates'];

export interface GraphQLErrorShape {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: Record<string, unknown>;
}

/** A GraphQL error answer; `code` is the server's extensions.code (e.g. INVALID_LOCATION). */
export class RidematchError extends Error {
  override name = 'RidematchError';
  constructor(readonly errors: readonly GraphQLErrorShape[]) {
    super(errors.map((e) => e.message).join('; '));
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code as string | undefined;
  }
}

export interface RidematchClientOptions {
  /** The HTTP endpoint, e.g. http://localhost:4000/graphql (the WebSocket URL is derived). */
  url: string;
  token: string;
  /** Where queries and mutations go; subscriptions always use the socket. Default 'ws'. */
  transport?: 'ws' | 'http';
  /** WebSocket implementation; defaults to the global one (browsers, Node ≥ 22) or `ws`. */
  webSocketImpl?: unknown;
  retryAttempts?: number;
  keepAliveMs?: number;
  /** Called after the socket came back (after the SDK's own catch-up reads started). */
  onReconnected?: () => void;
}

export interface Handler<T> {
  next(value: T): void;
  error?(err: unknown): void;
}

type Vars = Record<string, unknown>;

/** How long an idle socket (no subscription, no request) stays open before it is closed. */
const LAZY_CLOSE_AFTER_MS = 60_000;

function backoff(retries: number): Promise<void> {
  const base = Math.min(10_000, 500 * 2 ** retries);
  return new Promise((resolve) => setTimeout(resolve, base / 2 + Math.random() * (base / 2)));
}

export function createRidematchClient(options: RidematchClientOptions) {
  const wsUrl = options.url.replace(/^http/, 'ws');
  const catchUps = new Set<() => void>();
  const socket: Client = createClient({
    url: wsUrl,
    webSocketImpl: options.webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket ?? WebSocket,
    lazy: true,
    // A lazy graphql-ws client closes its socket as soon as no operation is running; a driver
    // reporting every 10 s would then pay a full connect + connection_init per report. Keep it.
    lazyCloseTimeout: LAZY_CLOSE_AFTER_MS,
    keepAlive: options.keepAliveMs ?? 10_000,
    retryAttempts: options.retryAttempts ?? Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: backoff,
    connectionParams: { authorization: `Bearer ${options.token}` },
    on: {
      connected: (_socket, _payload, wasRetry) => {
        if (!wasRetry) return;
        for (const catchUp of catchUps) catchUp();
        options.onReconnected?.();
      },
    },
  });

  function overSocket<R, V extends Vars>(doc: TypedDocumentString<R, V>, variables: V): Promise<R> {
    return new Promise((resolve, reject) => {
      let result: { data?: unknown; errors?: readonly GraphQLErrorShape[] } | undefined;
      socket.subscribe(
        { query: doc.toString(), variables },
        {
          next: (r) => (result = r as typeof result),
          error: (err) => reject(Array.isArray(err) ? new RidematchError(err as GraphQLErrorShape[]) : err),
          complete: () => (result?.errors ? reject(new RidematchError(result.errors)) : resolve(result?.data as R)),
        },
      );
    });
  }

  async function overHttp<R, V extends Vars>(doc: TypedDocumentString<R, V>, variables: V): Promise<R> {
    const res = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
      body: JSON.stringify({ query: doc.toString(), variables }),
    });
    const body = (await res.json()) as { data?: R; errors?: GraphQLErrorShape[] };
    if (body.errors?.length) throw new RidematchError(body.errors);
    return body.data as R;
  }

  /** Runs a generated query or mutation over the configured transport. */
  function request<R, V extends Vars>(doc: TypedDocumentString<R, V>, variables: V): Promise<R> {
    return options.transport === 'http' ? overHttp(doc, variables) : overSocket(doc, variables);
  }

  /** Subscribes with a generated subscription; returns the function that stops it. */
  function subscribe<R, V extends Vars>(doc: TypedDocumentString<R, V>, variables: V, handler: Handler<R>): () => void {
    return socket.subscribe(
      { query: doc.toString(), variables },
      {
        next: (r) => (r.errors?.length ? handler.error?.(new RidematchError(r.errors)) : handler.next(r.data as R)),
        error: (err) => handler.error?.(Array.isArray(err) ? new RidematchError(err as GraphQLErrorShape[]) : err),
        complete: () => {},
      },
    );
  }

  const myOffers = () => request(MyOffersDocument, {}).then((d) => d.myOffers);
  const ride = (id: string) => request(RideDocument, { id }).then((d) => d.ride);

  return {
    /** The underlying graphql-ws client (for events such as 'connected' and 'closed'). */
    socket,
    request,
    subscribe,

    // ── Driver ──
    updateDriverLocation: (input: LocationInput) =>
      request(UpdateDriverLocationDocument, { input }).then((d) => d.updateDriverLocation),
    setDriverStatus: (status: DriverStatus) => request(SetDriverStatusDocument, { status }).then((d) => d.setDriverStatus),
    acceptRide: (rideId: string) => request(AcceptRideDocument, { rideId }).then((d) => d.acceptRide),
    declineRide: (rideId: string) => request(DeclineRideDocument, { rideId }).then((d) => d.declineRide),
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
    requestRide: (input: RequestRideInput) => request(RequestRideDocument, { input }).then((d) => d.requestRide),
    cancelRide: (rideId: string) => request(CancelRideDocument, { rideId }).then((d) => d.cancelRide),
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
          (r) => deliver({ status: r.status, reason: r.endReason, at: new Date().toISOString(), driverPosition: null, ride: r }),
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

    close: () => socket.dispose(),
  };
}

export type RidematchClient = ReturnType<typeof createRidematchClient>;
