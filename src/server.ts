// One port: HTTP /graphql (Yoga; GraphiQL outside production), the graphql-ws WebSocket upgrade on
// /graphql, /health and /ready; /metrics there too behind METRICS_TOKEN, or on a port of its own
// (METRICS_PORT). Transport-level defences live here: header, body and keep-alive
// timeouts, a body size limit, the Origin allowlist for upgrades, sockets per identity,
// subscriptions per socket, and closing a socket when its token expires. Graceful shutdown: stop
// accepting, let operations under way finish, close sockets with 1001.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { untilExpiry } from './api/until-expiry.ts';
import { MAX_TIMER_MS } from './clock.ts';
import { resolveOperation } from './api/persisted-operations.ts';
import { logClientProtocolErrors } from './api/client-protocol-errors.ts';
import { coalesceFrames } from './api/coalesced-frames.ts';
import { createGraphQLHandler, httpIdentity } from './api/yoga.ts';
import type { Services } from './app.ts';
import { identityFromAuthorization, type Identity } from './auth.ts';
import { DomainError } from './errors.ts';
import { limitBodySize } from './http/body-limit.ts';
import { clientAddress } from './http/client-address.ts';
import { metricsEndpoint } from './http/metrics-endpoint.ts';
import { requestIdFrom } from './http/request-id.ts';
import { serveMapPage } from './http/map-page.ts';
import { isOwnOrigin, originAllowlist } from './http/origins.ts';
import { MAX_NESTING, nestingDepth } from './limits/nesting.ts';
import { tooDeeplyNested } from './limits/operation-limits.ts';

export interface RunningServer {
  url: string;
  port: number;
  /** The port of the metrics listener (METRICS_PORT), or null when there is none. */
  metricsPort: number | null;
  http: Server;
  /** Stop accepting, drain operations under way (up to the grace period), close sockets (1001). */
  close(): Promise<void>;
}

/** Close codes of our WebSocket (graphql-ws' own codes keep their meaning). */
export const CloseCode = {
  /** The token is missing a claim, forged, or expired (the reason says which). */
  Forbidden: 4403,
  /** This identity already holds WS_MAX_SOCKETS_PER_IDENTITY sockets. */
  TooManySockets: 4409,
  /** Too many failed sign-ins from this address. */
  RateLimited: 4429,
  /** Graceful shutdown: reconnect (to another instance). */
  GoingAway: 1001,
} as const;

/**
 * Counts operations under way from the moment they arrive (an HTTP request, or a query/mutation
 * message on a socket) until their answer is sent, so shutdown can let them finish.
 * Subscriptions are not counted: they are long-lived and end with the socket.
 */
function inFlightTracker() {
  let count = 0;
  const idle: Array<() => void> = [];
  const begin = () => {
    count += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      count -= 1;
      if (count === 0) for (const resolve of idle.splice(0)) resolve();
    };
  };
  const drained = (timeoutMs: number) =>
    count === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          idle.push(resolve);
          setTimeout(resolve, timeoutMs).unref();
        });
  return { begin, drained };
}

/**
 * Ready while Postgres answers and at least one shard is healthy: the router serves around a down
 * shard, so one shard's failover must not take every instance out of the balancer at once
 * ("degraded" names what is down). Names and health only: nothing that could carry a credential.
 */
async function readiness(services: Services): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  const down: string[] = [];
  const postgres = await services.db.$queryRaw`SELECT 1`.then(() => true, () => false);
  if (!postgres) down.push('postgres');
  const shards = services.router.status();
  for (const s of shards) if (!s.healthy) down.push(`redis shard ${s.name}`);
  const ok = postgres && shards.some((s) => s.healthy);
  const status = !ok ? 'unavailable' : down.length > 0 ? 'degraded' : 'ready';
  return { ok, body: { status, down, shards } };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function refuseUpgrade(socket: Socket, status: number, message: string): void {
  socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Per socket: who is connected, its slot, its operations under way and its subscriptions. */
interface SocketState {
  socket: WebSocket;
  request?: IncomingMessage;
  clientAddress: string;
  /** The upgrade request's id, on the log lines of every operation of the socket. */
  socketId: string;
  identity: Identity | null;
  slot: string | null;
  inFlight: Map<string, () => void>;
  subscriptions: Set<string>;
  expiry?: NodeJS.Timeout;
}

/** Pending connections the kernel queues before we accept them (capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

export async function startServer(services: Services, opts: { host?: string; port?: number } = {}): Promise<RunningServer> {
  const { config, log } = services;
  const tracker = inFlightTracker();
  const yoga = createGraphQLHandler(services);
  const originAllowed = originAllowlist(config.corsOrigins);
  const serveMetrics = metricsEndpoint(services.metrics.registry, config.metrics.token);
  // Without a port of its own, /metrics is public only behind the token (and absent without one).
  const metricsOnPublicPort = config.metrics.port === null && config.metrics.token !== null;
  let draining = false;

  const http = createServer(
    {
      headersTimeout: config.http.headersTimeoutMs,
      requestTimeout: config.http.requestTimeoutMs,
      keepAliveTimeout: config.http.keepAliveTimeoutMs,
      // Timeouts are enforced when connections are checked: often, so slow clients go in time.
      connectionsCheckingInterval: 1_000,
    },
    async (req, res) => {
      // Every request gets an id (the caller's x-request-id if it sent one), on its log lines and
      // in the response.
      const requestId = requestIdFrom(req.headers['x-request-id']);
      res.setHeader('x-request-id', requestId);
      const path = (req.url ?? '/').split('?')[0];
      // The pid tells which process (worker, with WORKERS > 1) answered.
      if (path === '/health') return sendJson(res, 200, { status: 'ok', pid: process.pid });
      if (path === '/ready') {
        const { ok, body } = await readiness(services);
        return sendJson(res, ok ? 200 : 503, body);
      }
      if (path === '/metrics' && metricsOnPublicPort) return serveMetrics(req, res);
      if (req.method === 'GET' && path?.startsWith('/map') && (await serveMapPage(path, res, config.cityMap))) return;
      if (limitBodySize(req, res, config.http.maxBodyBytes)) return;
      if (draining) res.setHeader('connection', 'close');
      res.once('close', tracker.begin());
      return yoga(req, res, { clientAddress: clientAddress(req, config.trustProxy), requestId });
    },
  );

  const metricsHttp =
    config.metrics.port === null
      ? null
      : createServer((req, res) => {
          if ((req.url ?? '/').split('?')[0] === '/metrics') return void serveMetrics(req, res);
          res.writeHead(404).end();
        });

  // Upgrades are ours to judge first: the path, and the Origin of browser pages.
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.ws.maxPayloadBytes, perMessageDeflate: false });
  wss.on('connection', (ws: WebSocket) => ws.once('close', services.metrics.socketOpened()));
  // The socket's id (the caller's x-request-id if it is one) goes back in the 101 response, as
  // an HTTP request's does in its response: the client can quote it when reporting a problem.
  wss.on('headers', (headers: string[], req: IncomingMessage) => headers.push(`x-request-id: ${req.headers['x-request-id']}`));
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if ((req.url ?? '/').split('?')[0] !== '/graphql') return refuseUpgrade(socket, 404, 'Not Found');
    const origin = req.headers.origin;
    if (origin && !isOwnOrigin(origin, req.headers.host) && !originAllowed(origin)) return refuseUpgrade(socket, 403, 'Forbidden');
    req.headers['x-request-id'] = requestIdFrom(req.headers['x-request-id']);
    wss.handleUpgrade(req, socket, head, (ws) => {
      coalesceFrames(ws, socket);
      logClientProtocolErrors(ws, log);
      wss.emit('connection', ws, req);
    });
  });

  // graphql-ws calls onComplete/onError just before it writes the final message: end the count a
  // tick later so a shutdown's close frame can never overtake the operation's last message.
  const endOperation = (state: SocketState, id: string) => {
    state.subscriptions.delete(id);
    const end = state.inFlight.get(id);
    state.inFlight.delete(id);
    if (end) setImmediate(end);
  };
  const closeWhenExpired = (state: SocketState) => {
    const expiresAt = state.identity?.expiresAt;
    if (!expiresAt) return;
    const wait = expiresAt - Date.now();
    state.expiry = setTimeout(
      () => (wait > MAX_TIMER_MS ? closeWhenExpired(state) : state.socket.close(CloseCode.Forbidden, 'token expired')),
      Math.max(0, Math.min(wait, MAX_TIMER_MS)),
    );
    state.expiry.unref();
  };
  const stateOf = (extra: Record<string, unknown>) => extra as unknown as SocketState;
  const refuse = (message: string, code: string) => [new GraphQLError(message, { extensions: { code } })];
  type Roots = { execute: (a: ExecutionArgs) => unknown; subscribe: (a: ExecutionArgs) => unknown; expiresAt?: number };

  const wsServer = useServer<Record<string, unknown> | undefined, Record<string, unknown>>(
    {
      // connection_init: the token in connectionParams.authorization. No token: an anonymous
      // socket (operations then need a token of their own, as GraphiQL sends in
      // extensions.headers). A bad token closes with 4403 and says why.
      onConnect: async (ctx) => {
        const state = stateOf(ctx.extra);
        const request = state.request!;
        state.clientAddress = clientAddress(request, config.trustProxy);
        state.socketId = requestIdFrom(request.headers['x-request-id']);
        state.inFlight = new Map();
        state.subscriptions = new Set();
        // graphql-ws keeps the upgrade request for the socket's whole life; we only needed the
        // identity and address from it, and a driver's socket lives all day.
        state.request = undefined;
        const params = (ctx.connectionParams ?? {}) as Record<string, unknown>;
        const authorization = params.authorization ?? params.Authorization;
        // graphql-ws keeps connectionParams for the socket's life too: the token is read once, here.
        delete params.authorization;
        delete params.Authorization;
        try {
          await services.limits.check('authFailures', state.clientAddress);
          state.identity = await identityFromAuthorization(config.jwt, authorization);
        } catch (err) {
          if (!(err instanceof DomainError)) throw err;
          if (err.code === 'RATE_LIMITED') state.socket.close(CloseCode.RateLimited, 'too many failed sign-ins');
          else {
            await services.limits.consume('authFailures', state.clientAddress).catch(() => {});
            state.socket.close(CloseCode.Forbidden, err.message);
          }
          return false;
        }
        const holder = state.identity ? `${state.identity.role}:${state.identity.id}` : `anon:${state.clientAddress}`;
        state.slot = await services.sockets.take(holder);
        if (!state.slot) {
          state.socket.close(CloseCode.TooManySockets, 'too many sockets for this identity');
          return false;
        }
        closeWhenExpired(state);
        return true;
      },
      // Unlike the documented recipe, a parse or validation error is returned as this
      // operation's error result instead of being thrown (which would close the whole socket
      // with 4500 and cut the driver's offers feed).
      onSubscribe: async (ctx, id, payload) => {
        const state = stateOf(ctx.extra);
        if (draining) return refuse('server is shutting down; reconnect', 'SERVICE_UNAVAILABLE');
        // Each operation is a request of its own for the logs, within its socket; a client may
        // name it in extensions.requestId (a browser cannot set the upgrade's headers).
        const requestId = requestIdFrom(typeof payload.extensions?.requestId === 'string' ? payload.extensions.requestId : undefined);
        try {
          const ownToken = state.identity === null;
          const identity = state.identity ?? (await operationIdentity(services, payload.extensions, state.clientAddress));
          const enveloped = yoga.getEnveloped({ clientAddress: state.clientAddress, identity, transport: 'ws' as const, requestId, socketId: state.socketId });
          // Yoga's persisted-operations plugin acts on HTTP params only: a hash is resolved here.
          const query = resolveOperation(config.persistedOperations, payload);
          if (query instanceof GraphQLError) return [query];
          if (nestingDepth(query) > MAX_NESTING) return [tooDeeplyNested()];
          let document;
          try {
            document = enveloped.parse(query);
          } catch (err) {
            return [withoutHttp(err instanceof GraphQLError ? err : new GraphQLError(String(err)))];
          }
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return errors.map(withoutHttp);
          if (getOperationAST(document, payload.operationName)?.operation === 'subscription') {
            if (state.subscriptions.size >= config.ws.maxSubscriptionsPerSocket) {
              return refuse(`at most ${config.ws.maxSubscriptionsPerSocket} subscriptions per socket`, 'TOO_MANY_SUBSCRIPTIONS');
            }
            state.subscriptions.add(id);
          } else {
            state.inFlight.set(id, tracker.begin());
          }
          return {
            schema: enveloped.schema,
            operationName: payload.operationName,
            document,
            variableValues: payload.variables,
            contextValue: await enveloped.contextFactory(),
            rootValue: {
              execute: enveloped.execute,
              subscribe: enveloped.subscribe,
              // A subscription on a token of its own ends when that token does (the socket's own
              // token closes the whole socket instead: closeWhenExpired).
              expiresAt: ownToken ? identity?.expiresAt : undefined,
            } satisfies Roots,
          };
        } catch (err) {
          if (err instanceof GraphQLError) return [err];
          log.error({ err, requestId, socketId: state.socketId }, 'subscribe failed');
          return refuse('Unexpected error.', 'INTERNAL_SERVER_ERROR');
        }
      },
      onComplete: (ctx, id) => endOperation(stateOf(ctx.extra), id),
      onError: (ctx, id) => endOperation(stateOf(ctx.extra), id),
      onClose: (ctx) => {
        const state = stateOf(ctx.extra);
        for (const end of state.inFlight?.values() ?? []) end();
        clearTimeout(state.expiry);
        if (state.slot) void services.sockets.give(state.slot);
      },
      execute: (args) => (args.rootValue as Roots).execute(args) as never,
      subscribe: async (args) => {
        const roots = args.rootValue as Roots;
        const result = await roots.subscribe(args);
        const stream = result as AsyncIterable<ExecutionResult>;
        if (!roots.expiresAt || typeof stream?.[Symbol.asyncIterator] !== 'function') return result as never;
        return untilExpiry(stream, roots.expiresAt) as never;
      },
    },
    wss,
  );

  const host = opts.host ?? config.host;
  // A city's drivers reconnect together after a deploy or a network blip: a backlog of Node's
  // default 511 overflows and the kernel resets the surplus connections (ECONNRESET at the client).
  await new Promise<void>((resolve) => http.listen({ port: opts.port ?? config.port, host, backlog: LISTEN_BACKLOG }, resolve));
  const port = (http.address() as AddressInfo).port;
  if (metricsHttp) await new Promise<void>((resolve) => metricsHttp.listen(config.metrics.port ?? 0, host, resolve));
  const metricsPort = metricsHttp ? (metricsHttp.address() as AddressInfo).port : null;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      await tracker.drained(config.shutdownGraceMs);
      await wsServer.dispose(); // every socket gets 1001 "Going away"
      http.closeAllConnections();
      await stopped;
      // Last, so the drain above can still be scraped.
      if (metricsHttp) await new Promise<void>((resolve) => (metricsHttp.close(() => resolve()), metricsHttp.closeAllConnections()));
      log.info({ port }, 'server stopped');
    })());

  return { url: `http://localhost:${port}/graphql`, port, metricsPort, http, close };
}

/** HTTP status hints (extensions.http) mean nothing on a socket: left out of its error results. */
function withoutHttp(error: GraphQLError): GraphQLError {
  if (!error.extensions?.http) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions });
}

/**
 * An operation on an anonymous socket may carry its own token, as GraphiQL does with the
 * Headers tab (`extensions.headers.Authorization` on every subscribe message).
 */
async function operationIdentity(services: Services, extensions: unknown, address: string): Promise<Identity | null> {
  const headers = (extensions as { headers?: Record<string, unknown> } | undefined)?.headers;
  const authorization = headers?.Authorization ?? headers?.authorization;
  return typeof authorization === 'string' ? httpIdentity(services, authorization, address) : null;
}
