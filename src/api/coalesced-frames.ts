// graphql-ws answers a query or mutation with two frames, `next` then `complete`, and waits for
// the first to be written before it sends the second: two socket writes and an event-loop turn
// per answer. Here a frame counts as sent once ws has queued it, and the socket is corked until
// the loop's check phase, so both frames (and anything else sent in the same turn) leave in one
// write. Measured side by side (2026-12-03; its log was never committed, see the README's
// "Benchmark"): first offers reached drivers a little sooner (p99 27 against 29–33 ms at 10k
// online); ingest throughput did not change.
//
// A failed write still closes the socket (ws handles the error and graphql-ws hears the close);
// what is lost is only graphql-ws' chance to reject a send on a socket that is going away.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

type Send = WebSocket['send'];

export function coalesceFrames(ws: WebSocket, tcp: Socket): void {
  const send = ws.send.bind(ws) as (data: unknown, options: object) => void;
  let corked = false;
  ws.send = ((data: unknown, optionsOrCallback?: object | ((err?: Error) => void), callback?: (err?: Error) => void) => {
    const done = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
    const options = typeof optionsOrCallback === 'object' ? optionsOrCallback : {};
    if (!corked) {
      corked = true;
      tcp.cork();
      setImmediate(() => {
        corked = false;
        tcp.uncork();
      });
    }
    send(data, options);
    done?.();
  }) as Send;
}
