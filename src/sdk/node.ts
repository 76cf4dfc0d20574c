// The SDK package's entry for Node (the `node` export condition): the same client, with the `ws`
// package as its WebSocket, because Node 20 has no global one. Browsers get index.ts and never
// load `ws`.
import WebSocket from 'ws';
import { createRidematchClient as createClient, type RidematchClientOptions } from './client.js';

export * from './index.js';

export function createRidematchClient(options: RidematchClientOptions) {
  return createClient({ ...options, webSocketImpl: options.webSocketImpl ?? WebSocket });
}
