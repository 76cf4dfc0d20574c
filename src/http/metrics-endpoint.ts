// GET /metrics in Prometheus' text format. Where it is served is the server's choice (its own
// METRICS_PORT, or the public port); this decides who gets it: with METRICS_TOKEN, only callers
// sending `Authorization: Bearer <token>`.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

// Digests have one length whatever was sent, so the comparison takes the same time for any guess.
const digest = (text: string) => createHash('sha256').update(text).digest();

export function metricsEndpoint(registry: Registry, token: string | null): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const expected = token === null ? null : digest(`Bearer ${token}`);
  return async (req, res) => {
    if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }).end('metrics need a bearer token\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
  };
}
