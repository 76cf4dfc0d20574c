// A frame the client got wrong (over WS_MAX_PAYLOAD_BYTES, invalid UTF-8, a bad opcode) is the
// client's error, not ours: ws has already sent the close frame with the code that says why
// (1009, 1007, 1002). It becomes one line on our log, and graphql-ws does not hear it: it printed
// "Internal error emitted on a WebSocket socket" and a stack with console.error, so any client
// could write to stderr at will.
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.ts';

export function logClientProtocolErrors(ws: WebSocket, log: Logger): void {
  const emit = ws.emit.bind(ws) as (event: string | symbol, ...args: unknown[]) => boolean;
  // ws emits 'error' on a server-side socket only for what its frame parser refused.
  ws.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event !== 'error') return emit(event, ...args);
    const err = args[0] as Error & { code?: string };
    log.info({ code: err.code, reason: err.message }, 'WebSocket closed: protocol error from the client');
    return true;
  }) as WebSocket['emit'];
}
