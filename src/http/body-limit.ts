// Request bodies over HTTP_MAX_BODY_BYTES get 413 PAYLOAD_TOO_LARGE and are never run.
//
// The 413 is written whole at once (with its length, so the client knows it is complete), but
// the response ends only once the refused body has been read to its end and dropped; a body
// still arriving after LINGER_MS closes the connection (a "lingering close", as nginx does).
// Closing while the client's bytes are still arriving makes the kernel answer with a reset, and
// a client that writes its whole body before it reads (most do) then loses the 413 it was sent:
// CI saw the answer arrive empty.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long a refused body may keep arriving before the connection is closed anyway. */
const LINGER_MS = 5_000;

/**
 * Call before Yoga reads `req`. Returns true when the body was refused already (declared over
 * the limit); otherwise it counts the body as it arrives and refuses it once it passes the limit.
 */
export function limitBodySize(req: IncomingMessage, res: ServerResponse, limit: number): boolean {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    refuse(req, res, limit);
    return true;
  }
  // A body without a declared length (chunked) is counted as it arrives, and cut off.
  // This listener puts the stream in flowing mode: Yoga attaches its own reader in the same
  // tick (no plugin of ours awaits in onRequest), so no chunk is emitted before it listens.
  // A plugin that awaited before the body is read would lose chunks (test/http-guards
  // "a body that arrives in pieces" guards this). Buffering the body here instead would
  // cost Object.keys() over every byte in @whatwg-node's request normalisation.
  const nodesOwn = { end: new Set(req.listeners('end')), error: new Set(req.listeners('error')) };
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= limit || res.headersSent) return;
    // Yoga stops hearing the body: no more of it and, above all, never its end, so it never
    // runs what it has (a valid document followed by 2 MB of spaces would otherwise run); nor
    // the error of a body abandoned half-way.
    for (const listener of req.listeners('data')) if (listener !== count) req.removeListener('data', listener as never);
    for (const event of ['end', 'error'] as const) {
      for (const listener of req.listeners(event)) if (!nodesOwn[event].has(listener)) req.removeListener(event, listener as never);
    }
    refuse(req, res, limit);
  };
  req.on('data', count);
  return false;
}

function refuse(req: IncomingMessage, res: ServerResponse, limit: number): void {
  const answer = JSON.stringify({ errors: [{ message: `request body over ${limit} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
  // Kept alive: once the refused body is read to its end, the client's next request (pipelined
  // or not) is served as usual; only a body still arriving after LINGER_MS closes the connection.
  res.writeHead(413, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
  res.write(answer);
  const giveUp = setTimeout(() => req.socket.destroy(), LINGER_MS);
  giveUp.unref();
  req.once('end', () => {
    clearTimeout(giveUp);
    res.end();
  });
  req.once('close', () => clearTimeout(giveUp));
  req.resume();
}
