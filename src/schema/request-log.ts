// The logger of the request being served: its lines carry the request's id, the transport, the
// socket (graphql-ws) and the caller's role and id. Resolvers that change something hand it to
// the domain, whose lines about that change then name the request. Made on first use, so a
// location update, which logs nothing, never pays for one.
import type { Logger } from '../logger.ts';
import type { GraphQLContext } from './builder.ts';

const made = new WeakMap<GraphQLContext, Logger>();

export function requestLog(ctx: GraphQLContext): Logger {
  let log = made.get(ctx);
  if (!log) {
    const { requestId, transport, socketId, identity } = ctx;
    log = ctx.services.log.child({ requestId, transport, socketId, role: identity?.role, callerId: identity?.id });
    made.set(ctx, log);
  }
  return log;
}
