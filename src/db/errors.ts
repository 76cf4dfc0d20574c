// Recognising what Postgres refused, whichever layer (Prisma, the pg adapter) reported it.

/** A unique constraint (or unique index) refused the write: SQLSTATE 23505. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string; originalCode?: string } };
  return (
    e?.code === 'P2002' || e?.cause?.code === '23505' || e?.cause?.originalCode === '23505' || /23505|unique constraint/i.test(e?.message ?? '')
  );
}

/** Socket failures reaching Postgres (Node's codes), as pg and Prisma's adapter pass them on. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Prisma's codes for "cannot reach / lost the database / no connection in time". */
const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** The adapter's kinds for the same (a DriverAdapterError's cause). */
const ADAPTER_UNREACHABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** SQLSTATE: connection exceptions (08), shutdown / starting up (57P01-03), too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
/**
 * Messages that say the same without a usable code: pg's own for a connection lost or never made,
 * Prisma's raw-query failure (P2010, "Code: `N/A`") that could not reach the server, and
 * Prisma's unknown request error that names the SQLSTATE only in its text ("Code: `57P03`").
 */
const PG_LOST =
  /Connection terminated|timeout exceeded when trying to connect|Connection ended unexpectedly|Client has encountered a connection error|Can't reach database server|Code: `(08...|57P0[123]|53300)`/i;

/**
 * Postgres is unreachable or went away mid-request (not a refused statement): the caller gets
 * SERVICE_UNAVAILABLE and may retry. Looks through the chain of causes, since Prisma, the
 * adapter and pg each wrap the one below.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as any, depth = 0; e && typeof e === 'object' && depth < 6; e = e.cause, depth++) {
    if (SOCKET_CODES.has(e.code) || PRISMA_UNREACHABLE.has(e.code) || ADAPTER_UNREACHABLE.has(e.kind)) return true;
    if (UNAVAILABLE_SQLSTATE.test(e.code ?? '') || UNAVAILABLE_SQLSTATE.test(e.originalCode ?? '')) return true;
    if (typeof e.message === 'string' && PG_LOST.test(e.message)) return true;
  }
  return false;
}
