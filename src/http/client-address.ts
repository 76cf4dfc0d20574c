// The caller's network address, for limits keyed by address (failed sign-ins, anonymous calls).
// Behind a load balancer (TRUST_PROXY=true) it is the last X-Forwarded-For hop, the one the
// balancer itself appended; earlier hops are whatever the client claimed.
import type { IncomingMessage } from 'node:http';

export function clientAddress(req: Pick<IncomingMessage, 'headers' | 'socket'>, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',').map((h) => h.trim()).filter(Boolean);
    if (hops.length > 0) return hops[hops.length - 1]!;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
