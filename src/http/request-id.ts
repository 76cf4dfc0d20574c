// Every HTTP request and graphql-ws operation has an id, on its log lines and (HTTP) in the
// response's x-request-id header. A caller's own x-request-id (a balancer's, a client's trace id)
// is kept when it looks like an id; anything else is replaced, so a header cannot put arbitrary
// text into logs.
import { randomUUID } from 'node:crypto';

const ID = /^[\w.:/+=@-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given && ID.test(given) ? given : randomUUID();
}
