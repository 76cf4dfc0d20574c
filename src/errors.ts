// Typed, client-facing errors. Domain code (geo/, match/, registry) throws DomainError and has
// no GraphQL imports; the schema layer turns a DomainError into a GraphQLError whose
// extensions.code is the code below (see schema/errors.ts). Anything else is masked by Yoga.

export type ErrorCode =
  | 'UNAUTHENTICATED' // no or invalid token
  | 'FORBIDDEN' // valid token, wrong role or not your resource
  | 'NOT_REGISTERED' // token subject is not a registered driver/rider
  | 'BAD_USER_INPUT' // an argument is malformed (names the field)
  | 'INVALID_LOCATION' // a location update is out of range (names the field)
  | 'NOT_FOUND' // the thing the argument points at does not exist
  | 'INVALID_STATE' // the request is well-formed but not allowed now (e.g. cancel a finished ride)
  | 'ACTIVE_RIDE_EXISTS' // the rider already has a live ride (extensions.rideId)
  | 'ESTIMATE_EXPIRED' // the fare estimate's time ran out: ask for a new one
  | 'ESTIMATE_MISMATCH' // the request differs from its estimate (extensions.field)
  | 'RATE_LIMITED' // over a limit: nothing changed, retry after extensions.retryAfterMs
  | 'RETRYABLE' // a transient failure: nothing changed, try again
  | 'SERVICE_UNAVAILABLE'; // a dependency is down

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    // An answer to the client, not a fault: no stack. Capturing one (and source-mapping it
    // under tsx when GraphQL copies it) cost ~33 µs a refusal, more than the rest of the request.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
  }

  /** graphql-js copies an original error's `extensions` onto the GraphQL error it reports. */
  get extensions(): Record<string, unknown> {
    return { code: this.code, ...this.details };
  }
}

export const badInput = (field: string, message: string) =>
  new DomainError('BAD_USER_INPUT', `${field}: ${message}`, { field });

export const notFound = (what: string, id: string) =>
  new DomainError('NOT_FOUND', `${what} ${id} not found`, { id });

export const rateLimited = (what: string, retryAfterMs: number) =>
  new DomainError('RATE_LIMITED', `too many ${what}; retry in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs: Math.ceil(retryAfterMs) });
