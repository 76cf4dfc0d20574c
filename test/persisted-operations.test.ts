// Persisted operations under PERSISTED_OPERATIONS=off | allow | only, over HTTP (Yoga's plugin)
// and graphql-ws (server.ts onSubscribe), with the hashes of the manifest codegen writes; and the
// SDK against each mode (hashes first, text where the server does not know them).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeDocument } from '../src/sdk/generated/graphql.ts';
import { createRidematchClient, RidematchError } from '../src/sdk/node.ts';
import { wsConnect, type GraphQLResponse, type WsClient } from './helpers/graphql.ts';
import { startStack, type Instance, type Stack } from './helpers/stack.ts';

const manifest: Record<string, string> = JSON.parse(readFileSync(new URL('../src/sdk/generated/persisted-documents.json', import.meta.url), 'utf8'));
const ME_HASH = (MeDocument as { __meta__?: { hash: string } }).__meta__!.hash;
const UNKNOWN_HASH = createHash('sha256').update('query { nothing }').digest('hex');
const persisted = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });
/** Not in the manifest; the SDK's Me asks for more than __typename. */
const TEXT = 'query Me { me { __typename } }';

type Payload = { query?: string; operationName?: string; extensions?: unknown };
type Send = (payload: Payload) => Promise<GraphQLResponse>;

let stack: Stack;
const instances = {} as Record<'off' | 'allow' | 'only', Instance>;
let token: string;
const sockets: WsClient[] = [];
beforeAll(async () => {
  stack = await startStack({ env: { PERSISTED_OPERATIONS: 'allow' } });
  instances.allow = stack.instances[0]!;
  instances.off = await stack.startInstance({ PERSISTED_OPERATIONS: 'off' });
  instances.only = await stack.startInstance({ PERSISTED_OPERATIONS: 'only' });
  token = await stack.token('admin', 'ops');
});
afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await stack?.stop();
});

it('the manifest maps the sha256 of each document text to that text, and the generated documents carry those hashes', () => {
  expect(Object.keys(manifest).length).toBeGreaterThan(10);
  for (const [hash, text] of Object.entries(manifest)) expect(createHash('sha256').update(text).digest('hex')).toBe(hash);
  expect(manifest[ME_HASH]).toContain('query Me');
});

function overHttp(instance: Instance): Send {
  return async (payload) => {
    const res = await fetch(instance.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(payload),
    });
    return (await res.json()) as GraphQLResponse;
  };
}

/** One socket per mode, kept for all its operations: a refusal must leave it open. */
function overWs(instance: Instance): Send {
  let ws: WsClient | undefined;
  return (payload) => {
    if (!ws) sockets.push((ws = wsConnect(instance.wsUrl, token)));
    const client = ws.client;
    return new Promise((resolve, reject) => {
      let result: GraphQLResponse = {};
      client.subscribe(
        { query: payload.query ?? '', operationName: payload.operationName, extensions: payload.extensions as Record<string, unknown> },
        {
          next: (r) => (result = r as GraphQLResponse),
          error: (err) => (Array.isArray(err) ? resolve({ errors: err as never }) : reject(err)),
          complete: () => resolve(result),
        },
      );
    });
  };
}

const code = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.code;
const ran = (r: GraphQLResponse) => r.data?.me;

describe.each(['http', 'ws'] as const)('over %s', (transport) => {
  const send = (mode: keyof typeof instances) => (transport === 'http' ? overHttp : overWs)(instances[mode]);

  it('off: texts run, hashes are not looked up (PERSISTED_QUERY_NOT_FOUND, so clients resend the text)', async () => {
    const off = send('off');
    expect(ran(await off({ query: TEXT }))).toEqual({ __typename: 'Admin' });
    expect(code(await off({ extensions: persisted(ME_HASH) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(ran(await off({ query: TEXT, extensions: persisted(ME_HASH) }))).toEqual({ __typename: 'Admin' });
  });

  it('allow: a known hash runs the manifest text, texts run as sent, unknown hashes are not found', async () => {
    const allow = send('allow');
    expect(ran(await allow({ extensions: persisted(ME_HASH), operationName: 'Me' }))).toEqual({ __typename: 'Admin', id: 'ops' });
    expect(ran(await allow({ query: TEXT }))).toEqual({ __typename: 'Admin' });
    expect(code(await allow({ extensions: persisted(UNKNOWN_HASH) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(ran(await allow({ query: TEXT, extensions: persisted(UNKNOWN_HASH) }))).toEqual({ __typename: 'Admin' });
  });

  it('only: manifest documents by hash and nothing else', async () => {
    const only = send('only');
    expect(code(await only({ query: TEXT }))).toBe('PERSISTED_QUERY_ONLY');
    expect(code(await only({ query: TEXT, extensions: persisted(UNKNOWN_HASH) }))).toBe('PERSISTED_QUERY_ONLY');
    expect(code(await only({ extensions: persisted(UNKNOWN_HASH) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(ran(await only({ extensions: persisted(ME_HASH) }))).toEqual({ __typename: 'Admin', id: 'ops' });
    // A text beside a known hash (as Apollo's GraphQLWsLink sends it) is ignored: the manifest's runs.
    expect(ran(await only({ query: TEXT, extensions: persisted(ME_HASH) }))).toEqual({ __typename: 'Admin', id: 'ops' });
  });

  it('the SDK works against every mode: hashes first, the text where the server does not look them up', async () => {
    for (const mode of ['off', 'allow', 'only'] as const) {
      const client = createRidematchClient({ url: instances[mode].httpUrl, token, transport });
      expect(await client.me(), mode).toEqual({ __typename: 'Admin', id: 'ops' });
      expect(await client.me(), mode).toEqual({ __typename: 'Admin', id: 'ops' });
      await client.close();
    }
    const textOnly = createRidematchClient({ url: instances.only.httpUrl, token, transport, persisted: false });
    const refused = await textOnly.me().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RidematchError);
    expect((refused as RidematchError).code).toBe('PERSISTED_QUERY_ONLY');
    await textOnly.close();
  });
});

it('a refusal over graphql-ws leaves the socket open', async () => {
  const ws = wsConnect(instances.only.wsUrl, token);
  sockets.push(ws);
  const send = (payload: Payload) =>
    new Promise<unknown>((resolve) =>
      ws.client.subscribe({ query: payload.query ?? '', extensions: payload.extensions as Record<string, unknown> }, { next: resolve, error: resolve, complete: () => {} }),
    );
  let closed = false;
  void ws.closed.then(() => (closed = true));
  expect(await send({ query: TEXT })).toMatchObject([{ extensions: { code: 'PERSISTED_QUERY_ONLY' } }]);
  expect(await send({ extensions: persisted(ME_HASH) })).toMatchObject({ data: { me: { id: 'ops' } } });
  expect(closed).toBe(false);
});
