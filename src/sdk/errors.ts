// What an SDK call can fail with, as classes a caller can branch on: the server's typed GraphQL
// errors, a socket the server closed for good, and a mutation whose outcome nobody knows.

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

/**
 * The socket was closed and the SDK will not reconnect: the server refused it (4400, 4403 other
 * than "token expired", 4409 too many sockets, 4429 too many failed sign-ins) or the retries ran out.
 */
export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
  constructor(
    readonly closeCode: number,
    readonly reason: string,
  ) {
    super(`socket closed: ${closeCode}${reason ? ` ${reason}` : ''}`);
  }
}

/**
 * A mutation that is not known to be idempotent was under way when the connection dropped: it
 * may or may not have run. It is not resent; read the state (e.g. `ride`, `myOffers`) to find out.
 */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
  readonly code = 'OUTCOME_UNKNOWN';
  constructor(readonly operationName: string | undefined) {
    super(`connection lost; the outcome is unknown${operationName ? ` (${operationName})` : ''}`);
  }
}

export const isCloseEvent = (value: unknown): value is { code: number; reason: string } =>
  typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'number' && 'reason' in value;

/** What graphql-ws hands a sink's error(): GraphQL errors, a close event, or anything else. */
export function fromSocketError(err: unknown): Error {
  if (Array.isArray(err)) return new RidematchError(err as GraphQLErrorShape[]);
  if (isCloseEvent(err)) return new ConnectionClosedError(err.code, String(err.reason));
  return err instanceof Error ? err : new Error(String(err));
}
