// A TCP proxy between a WebSocket client and the server that can cut the connection at an exact
// moment: right after it forwarded the client's message that a predicate picks. The upgrade
// request is forwarded as it is; after it, client frames (RFC 6455: masked, 7/16/64-bit lengths,
// one frame per message as `ws` sends them) are read, recorded and forwarded one by one.
import net, { type AddressInfo } from 'node:net';

export interface CuttingProxy {
  /** ws://127.0.0.1:<proxy port>/graphql and its http:// twin, for clients that derive one. */
  wsUrl: string;
  httpUrl: string;
  /** Every text message clients sent through the proxy, parsed. */
  sent: any[];
  /** The next client message that `match` picks is forwarded, then both sides are cut. */
  cutAfter(match: (message: any) => boolean): Promise<void>;
  close(): Promise<void>;
}

/** One complete frame at the start of `buf`, unmasked, or null while it is still arriving. */
function readFrame(buf: Buffer): { size: number; opcode: number; payload: Buffer } | null {
  if (buf.length < 2) return null;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let length = buf[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buf.length < 4) return null;
    length = buf.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buf.length < 10) return null;
    length = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  const maskAt = offset;
  if (masked) offset += 4;
  if (buf.length < offset + length) return null;
  const payload = Buffer.from(buf.subarray(offset, offset + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buf[maskAt + (i % 4)]!;
  return { size: offset + length, opcode, payload };
}

export async function startCuttingProxy(target: { host: string; port: number }): Promise<CuttingProxy> {
  const sent: any[] = [];
  const connections = new Set<net.Socket>();
  let pending: { match: (message: any) => boolean; done: () => void } | null = null;

  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    connections.add(client).add(upstream);
    upstream.pipe(client);
    let cut = false;
    const end = () => {
      client.destroy();
      if (!cut) upstream.destroy(); // after a cut, upstream.end() still has to deliver the message
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);

    let buffer = Buffer.alloc(0);
    let upgraded = false;
    client.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const headersEnd = buffer.indexOf('\r\n\r\n');
        if (headersEnd < 0) return;
        upstream.write(buffer.subarray(0, headersEnd + 4));
        buffer = buffer.subarray(headersEnd + 4);
        upgraded = true;
      }
      for (let frame = readFrame(buffer); frame; frame = readFrame(buffer)) {
        upstream.write(buffer.subarray(0, frame.size));
        buffer = buffer.subarray(frame.size);
        if (frame.opcode !== 0x1) continue;
        const message = JSON.parse(frame.payload.toString('utf8'));
        sent.push(message);
        if (pending?.match(message)) {
          const { done } = pending;
          pending = null;
          cut = true;
          // The server gets the message (end() flushes it, then FIN); its answer is lost.
          upstream.unpipe(client);
          upstream.end();
          client.destroy();
          done();
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    httpUrl: `http://127.0.0.1:${port}/graphql`,
    sent,
    cutAfter: (match) => new Promise<void>((done) => (pending = { match, done })),
    close: async () => {
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
