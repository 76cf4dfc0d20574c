// Issue 9, acceptance 8 (and the Origin rule of 7): CORS from an allowlist, no cross-site
// "simple" request can run an operation, WebSocket upgrades from unlisted origins refused, and
// slow clients cut off while normal requests stay answered.
import net from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddress } from '../src/http/client-address.ts';
import { startStack, type Stack } from './helpers/stack.ts';

let stack: Stack;
let admin: string;
beforeAll(async () => {
  stack = await startStack({ env: { CORS_ORIGINS: 'https://ops.ridematch.test, http://localhost:*', HTTP_HEADERS_TIMEOUT_MS: '2000', HTTP_REQUEST_TIMEOUT_MS: '4000' } });
  admin = await stack.token('admin', 'ops');
});
afterAll(() => stack?.stop());

const query = JSON.stringify({ query: '{ me { __typename } }' });

describe('CORS', () => {
  it.each([
    ['https://ops.ridematch.test', true],
    ['http://localhost:5173', true],
    ['https://evil.test', false],
    ['https://ops.ridematch.test.evil.test', false],
  ])('origin %s allowed: %s', async (origin, allowed) => {
    const preflight = await fetch(stack.httpUrl, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(allowed ? origin : null);
    const res = await fetch(stack.httpUrl, { method: 'POST', headers: { origin, 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: query });
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed ? origin : null);
    expect(res.headers.get('access-control-allow-credentials')).toBe(allowed ? 'true' : null);
  });

  it('has no browser origins at all in production unless configured', async () => {
    const prod = await startStack({ env: { NODE_ENV: 'production' } });
    try {
      const res = await fetch(prod.httpUrl, { method: 'POST', headers: { origin: 'http://localhost:3000', 'content-type': 'application/json' }, body: query });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await prod.stop();
    }
  });
});

describe('CSRF: a cross-site "simple" request cannot run an operation', () => {
  const mutation = 'mutation { upsertRider(input: { id: "csrf-victim", name: "pwned" }) { id } }';
  it.each([
    ['form-encoded', 'application/x-www-form-urlencoded', `query=${encodeURIComponent(mutation)}`],
    ['plain text', 'text/plain', JSON.stringify({ query: mutation })],
    ['multipart', 'multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: mutation })}\r\n--x--\r\n`],
  ])('%s POST is refused and changes nothing', async (_name, contentType, body) => {
    const res = await fetch(stack.httpUrl, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${admin}` }, body });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await stack.services.db.rider.findUnique({ where: { id: 'csrf-victim' } })).toBeNull();
  });

  it('a GET operation needs a preflighted header; JSON POSTs are fine', async () => {
    const url = `${stack.httpUrl}?query=${encodeURIComponent('{ me { __typename } }')}`;
    expect((await fetch(url, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(403);
    const withHeader = await fetch(url, { headers: { authorization: `Bearer ${admin}`, 'x-graphql-yoga-csrf': '1' } });
    expect(((await withHeader.json()) as any).data.me).toEqual({ __typename: 'Admin' });
  });
});

describe('WebSocket upgrades: Origin allowlist', () => {
  const open = (origin?: string) =>
    new Promise<number | 'open'>((resolve) => {
      const ws = new WebSocket(stack.wsUrl, 'graphql-transport-ws', origin ? { origin } : {});
      ws.once('open', () => (ws.close(), resolve('open')));
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => {});
    });
  it('accepts listed origins and apps without an Origin; refuses others with 403', async () => {
    expect(await open('https://ops.ridematch.test')).toBe('open');
    expect(await open()).toBe('open');
    expect(await open('https://evil.test')).toBe(403);
  });

  it("accepts a page of our own origin (the /map page) without listing it: its Origin is the upgrade's Host", async () => {
    const port = stack.instances[0]!.server.port;
    const ours = (origin: string) =>
      new Promise<number | 'open'>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws', { origin });
        ws.once('open', () => (ws.close(), resolve('open')));
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', () => {});
      });
    expect(await ours(`http://127.0.0.1:${port}`)).toBe('open');
    // Another port of the same host is another origin.
    expect(await ours(`http://127.0.0.1:${port + 1}`)).toBe(403);
  });
});

describe('slow clients', () => {
  it('cuts off 200 connections sending a byte a second, while normal requests are answered', async () => {
    const sockets: net.Socket[] = [];
    const closed: Array<Promise<{ afterMs: number; answer: string }>> = [];
    const opened = Date.now();
    for (let i = 0; i < 200; i++) {
      const s = net.connect(stack.instances[0]!.server.port, '127.0.0.1');
      s.on('error', () => {});
      let answer = '';
      s.on('data', (d) => (answer += d));
      sockets.push(s);
      closed.push(new Promise((resolve) => s.once('close', () => resolve({ afterMs: Date.now() - opened, answer }))));
    }
    // A valid request, one byte a second, in order: only a timeout can end it (a byte out of
    // order would be a parse error, answered 400 at once, whatever the timeouts).
    const header = 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';
    let sent = 0;
    const dribble = setInterval(() => {
      const byte = header[sent++ % header.length]!;
      for (const s of sockets) if (!s.destroyed) s.write(byte, () => {});
    }, 1_000);
    try {
      // Meanwhile, ordinary requests are answered.
      for (let i = 0; i < 5; i++) {
        const res = await fetch(stack.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: query });
        expect(res.status).toBe(200);
        await new Promise((r) => setTimeout(r, 300));
      }
      const after = await Promise.all(closed);
      // Cut by the headers timeout: Node answers 408 Request Timeout.
      expect(new Set(after.map((c) => c.answer.split('\r\n')[0]))).toEqual(new Set(['HTTP/1.1 408 Request Timeout']));
      expect(sent).toBeLessThan(header.length); // cut off before the header could have ended
      // Headers must be complete within HTTP_HEADERS_TIMEOUT_MS (2 s here; 10 s by default).
      expect(Math.max(...after.map((c) => c.afterMs))).toBeLessThan(2_000 + 3_000);
    } finally {
      clearInterval(dribble);
      for (const s of sockets) s.destroy();
    }
  });
});

describe('request bodies', () => {
  /** A POST whose body arrives in pieces, `gapMs` apart, as a slow mobile link sends it. */
  async function postInPieces(
    body: string,
    pieces: number,
    gapMs: number,
    { headers: extraHeaders = {}, readOnlyOnceSent = false }: { headers?: Record<string, string>; readOnlyOnceSent?: boolean } = {},
  ): Promise<{ status: number; json: any }> {
    const s = net.connect(stack.instances[0]!.server.port, '127.0.0.1');
    // Many clients write the whole body before they read the answer.
    if (readOnlyOnceSent) s.pause();
    s.on('error', () => {});
    let raw = '';
    s.on('data', (d) => (raw += d));
    const closed = new Promise((resolve) => s.once('close', resolve));
    const headers = { host: 'x', 'content-type': 'application/json', 'transfer-encoding': 'chunked', authorization: `Bearer ${admin}`, ...extraHeaders };
    s.write(`POST /graphql HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
    const size = Math.ceil(body.length / pieces);
    for (let i = 0; i < body.length && !s.destroyed; i += size) {
      const piece = Buffer.from(body.slice(i, i + size));
      s.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    if (!s.destroyed) s.write('0\r\n\r\n');
    s.resume();
    s.setTimeout(5_000, () => s.destroy());
    await closed;
    const [head, ...rest] = raw.split('\r\n\r\n');
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head ?? '')?.[1]);
    const payload = rest.join('\r\n\r\n');
    // The answer may itself be chunked: take the JSON between the chunk sizes.
    const json = JSON.parse(payload.slice(payload.indexOf('{'), payload.lastIndexOf('}') + 1));
    return { status, json };
  }

  it('a body that arrives in pieces, with pauses, is read whole (none of it lost before Yoga reads it)', async () => {
    const answer = await postInPieces(query, 4, 150, { headers: { connection: 'close' } });
    expect(answer).toEqual({ status: 200, json: { data: { me: { __typename: 'Admin' } } } });
  });

  it('a chunked body over the limit is refused with 413, reaches a client that reads only once it has sent all, and is never run', async () => {
    // A valid document followed by 2 MB of spaces: whatever prefix Yoga got would run, had it
    // heard the body end. The server reads the rest and drops it: closing on the client while
    // it still sends resets the connection and loses the 413 (CI saw it arrive empty).
    const mutation = 'mutation { upsertRider(input: { id: "oversized-body", name: "too big" }) { id } }';
    const huge = JSON.stringify({ query: mutation }) + ' '.repeat(2_000_000);
    const answer = await postInPieces(huge, 8, 20, { readOnlyOnceSent: true, headers: { connection: 'close' } });
    expect(answer.status).toBe(413);
    expect(answer.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    // Had Yoga heard the end, it would run the prefix within milliseconds: give it a second.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await stack.services.db.rider.findUnique({ where: { id: 'oversized-body' } })).toBeNull();
  });
});

describe('after a refused body', () => {
  it('the same connection serves the next request, pipelined right behind it', async () => {
    const s = net.connect(stack.instances[0]!.server.port, '127.0.0.1');
    s.on('error', () => {});
    let raw = '';
    s.on('data', (d) => (raw += d));
    const tooBig = JSON.stringify({ query: `{ me { __typename } } # ${'x'.repeat(100_000)}` });
    const post = (body: string, extra = '') =>
      `POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${admin}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
    s.write(post(tooBig) + post(query, 'connection: close\r\n'));
    await new Promise((resolve) => s.once('close', resolve));
    // The second status line follows the first answer's body directly (no newline in between).
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([413, 200]);
    expect(raw).toContain('"__typename":"Admin"');
  });
});

describe('client address for per-address limits', () => {
  const from = (remoteAddress: string, forwarded?: string | string[]) => ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as never;

  it("is the peer unless TRUST_PROXY; behind the balancer, the hop it appended (earlier hops are the client's claim)", () => {
    expect(clientAddress(from('10.0.0.9', '203.0.113.7'), false)).toBe('10.0.0.9');
    expect(clientAddress(from('10.0.0.9', '203.0.113.7'), true)).toBe('203.0.113.7');
    // A client forging X-Forwarded-For only adds hops before the balancer's own.
    expect(clientAddress(from('10.0.0.9', '1.2.3.4, 203.0.113.7'), true)).toBe('203.0.113.7');
    expect(clientAddress(from('10.0.0.9', ['1.2.3.4', '203.0.113.7']), true)).toBe('203.0.113.7');
    expect(clientAddress(from('10.0.0.9'), true)).toBe('10.0.0.9');
  });
});
