// One port: HTTP /graphql (Yoga; GraphiQL outside production), the graphql-ws WebSocket upgrade on
// /graphql, /health and /ready. Graceful shutdown: stop accepting, let operations under way
// finish, close sockets with 1001, then the caller closes Redis and Prisma.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getOperationAST, GraphQLError, type ExecutionArgs } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Services } from './app.ts';
import { identityFromAuthorization, type Identity } from './auth.ts';
import type { GraphQLContext } from './schema/builder.ts';
import { DomainError } from './errors.ts';
import { maskError, toGraphQLError } from './schema/errors.ts';
import { schema } from './schema/index.ts';

export interface RunningServer {
  url: string;
  port: number;
  http: Server;
  /** Stop accepting, drain operations under way (up to the grace period), close sockets (1001). */
  close(): Promise<void>;
}

/** What the WS path hands Yoga: the identity from connection_init (HTTP reads the header). */
interface ServerContext {
  identity?: Identity | null;
}

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

async function readiness(services: Services): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  const down: string[] = [];
  await services.db.$queryRaw`SELECT 1`.catch(() => down.push('postgres'));
  const shards = services.router.status();
  for (const s of shards) if (!s.healthy) down.push(`redis shard ${s.name} (${s.url})`);
  return { ok: down.length === 0, body: { status: down.length === 0 ? 'ready' : 'unavailable', down, shards } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A present but invalid token fails the whole HTTP request with 401 UNAUTHENTICATED. */
async function httpIdentity(secret: string, request: Request): Promise<Identity | null> {
  try {
    return await identityFromAuthorization(secret, request.headers.get('authorization'));
  } catch (err) {
    throw err instanceof DomainError ? toGraphQLError(err, 401) : err;
  }
}

export function createGraphQLHandler(services: Services): YogaServerInstance<ServerContext, GraphQLContext> {
  const { config } = services;
  return createYoga<ServerContext, GraphQLContext>({
    schema,
    // Compiled execution (graphql-jit): location acks and offer events are executed thousands of
    // times a second with the same few documents; compiling them once roughly halves the cost.
    plugins: [useGraphQlJit()],
    graphqlEndpoint: '/graphql',
    graphiql: config.graphiql ? { subscriptionsProtocol: 'WS', title: 'Ridematch' } : false,
    landingPage: false,
    maskedErrors: { maskError },
    logging: config.logLevel === 'silent' ? false : 'warn',
    context: async (initial) => ({
      // WS operations arrive with the identity from connection_init; HTTP ones carry a header.
      identity: initial.identity !== undefined ? initial.identity : await httpIdentity(config.jwtSecret, initial.request),
      services,
    }),
  });
}

export async function startServer(services: Services, opts: { host?: string; port?: number } = {}): Promise<RunningServer> {
  const { config, log } = services;
  const tracker = inFlightTracker();
  const yoga = createGraphQLHandler(services);
  let draining = false;

  const http = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/ready') {
      const { ok, body } = await readiness(services);
      return sendJson(res, ok ? 200 : 503, body);
    }
    if (draining) res.setHeader('connection', 'close');
    res.once('close', tracker.begin());
    return yoga(req, res, {});
  });

  const wss = new WebSocketServer({
    server: http,
    path: '/graphql',
    maxPayload: config.wsMaxPayloadBytes,
    perMessageDeflate: false,
  });

  // Per socket: who is connected, and the queries/mutations under way (operation id → end()).
  type Extra = { socket: WebSocket; request: IncomingMessage; identity?: Identity; inFlight?: Map<string, () => void> };
  // graphql-ws calls onComplete/onError just before it writes the final message: end the count a
  // tick later so a shutdown's close frame can never overtake the operation's last message.
  const endOperation = (extra: Extra, id: string) => {
    const end = extra.inFlight?.get(id);
    extra.inFlight?.delete(id);
    if (end) setImmediate(end);
  };
  type Roots = { execute: (a: ExecutionArgs) => unknown; subscribe: (a: ExecutionArgs) => unknown };
  const wsServer = useServer<Record<string, unknown> | undefined, Extra>(
    {
      // connection_init: the token in connectionParams.authorization; missing or bad → close 4403.
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        try {
          const identity = await identityFromAuthorization(config.jwtSecret, params.authorization ?? params.Authorization);
          if (!identity) return false;
          ctx.extra.identity = identity;
          // graphql-ws keeps the upgrade request for the socket's whole life; we only needed the
          // identity from it, and a driver's socket lives all day.
          (ctx.extra as { request?: IncomingMessage }).request = undefined;
          return true;
        } catch {
          return false;
        }
      },
      // Unlike the documented recipe, a parse or validation error is returned as this
      // operation's error result instead of being thrown (which would close the whole socket
      // with 4500 and cut the driver's offers feed).
      onSubscribe: async (ctx, id, payload) => {
        if (draining) return [new GraphQLError('server is shutting down; reconnect', { extensions: { code: 'SERVICE_UNAVAILABLE' } })];
        const enveloped = yoga.getEnveloped({
          socket: ctx.extra.socket,
          params: payload,
          identity: ctx.extra.identity ?? null,
        });
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError(String(err))];
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        if (getOperationAST(document, payload.operationName)?.operation !== 'subscription') {
          (ctx.extra.inFlight ??= new Map()).set(id, tracker.begin());
        }
        return {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe } satisfies Roots,
        };
      },
      onComplete: (ctx, id) => endOperation(ctx.extra, id),
      onError: (ctx, id) => endOperation(ctx.extra, id),
      onClose: (ctx) => {
        for (const end of ctx.extra.inFlight?.values() ?? []) end();
      },
      execute: (args) => (args.rootValue as Roots).execute(args) as never,
      subscribe: (args) => (args.rootValue as Roots).subscribe(args) as never,
    },
    wss,
  );

  await new Promise<void>((resolve) => http.listen(opts.port ?? config.port, opts.host ?? config.host, resolve));
  const port = (http.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      await tracker.drained(config.shutdownGraceMs);
      await wsServer.dispose(); // every socket gets 1001 "Going away"
      http.closeAllConnections();
      await stopped;
      log.info(`server on port ${port} stopped`);
    })());

  return { url: `http://localhost:${port}/graphql`, port, http, close };
}
