// Issue 2, acceptance 2: the real graphql-ws client against the real server: auth at
// connection_init, queries and mutations over WS and HTTP, and a syntax error that does not cost
// the socket. Plus role checks and the typed errors every client relies on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, wsConnect } from './helpers/graphql.ts';
import { startStack, TEST_SECRET, uniqueId, type Stack } from './helpers/stack.ts';
import { signToken } from '../src/auth.ts';

let stack: Stack;
let adminToken: string;
const driverId = uniqueId('d');

const UPSERT_DRIVER = /* GraphQL */ `
  mutation Upsert($input: UpsertDriverInput!) {
    upsertDriver(input: $input) { id name carType paymentPreference rating vehicle status }
  }`;
const driverInput = (id: string) => ({ id, name: 'Asha', carType: 'ECONOMY', paymentPreference: 'ANY', rating: 4.8, vehicle: 'Blue Swift' });

beforeAll(async () => {
  stack = await startStack();
  adminToken = await stack.token('admin', 'ops-1');
});
afterAll(() => stack?.stop());

describe('graphql-ws connection', () => {
  it('acknowledges a connection with a valid token', async () => {
    const ws = wsConnect(stack.wsUrl, adminToken);
    await expect(ws.connected).resolves.toBeUndefined();
    await ws.close();
  });

  it('acknowledges a socket without a token as anonymous: operations then need a token of their own', async () => {
    const ws = wsConnect(stack.wsUrl);
    await ws.connected;
    const anonymous = await ws.request('{ me { __typename } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // GraphiQL puts the Headers tab into every operation's extensions.headers.
    const signedIn = await new Promise<any>((resolve, reject) => {
      let result: unknown;
      ws.client.subscribe(
        { query: '{ me { __typename ... on Admin { id } } }', extensions: { headers: { Authorization: `Bearer ${adminToken}` } } },
        { next: (r) => (result = r), error: reject, complete: () => resolve(result) },
      );
    });
    expect(signedIn.data?.me).toEqual({ __typename: 'Admin', id: 'ops-1' });
    await ws.close();
  });

  it('closes with 4403 when the token is invalid or signed with another secret', async () => {
    const forged = await signToken('another-secret-0123456789-0123456789-xx', { role: 'admin', id: 'x' });
    for (const token of ['not-a-jwt', forged]) {
      const ws = wsConnect(stack.wsUrl, token);
      expect((await ws.closed).code).toBe(4403);
    }
  });

  it('closes with 4403 when the token is expired', async () => {
    const expired = await signToken(TEST_SECRET, { role: 'admin', id: 'x' }, '-1s');
    const ws = wsConnect(stack.wsUrl, expired);
    expect((await ws.closed).code).toBe(4403);
  });
});

describe('queries and mutations over both transports', () => {
  it('runs a mutation and a query over WebSocket', async () => {
    const ws = wsConnect(stack.wsUrl, adminToken);
    await ws.connected;
    const id = uniqueId('d');
    const created = await ws.request(UPSERT_DRIVER, { input: driverInput(id) });
    expect(created.errors).toBeUndefined();
    expect(created.data?.upsertDriver).toMatchObject({ id, carType: 'ECONOMY', status: 'AVAILABLE' });
    const me = await ws.request('{ me { __typename ... on Admin { id } } }');
    expect(me.data?.me).toEqual({ __typename: 'Admin', id: 'ops-1' });
    await ws.close();
  });

  it('runs a mutation and a query over HTTP', async () => {
    const created = await http(stack.httpUrl, UPSERT_DRIVER, { input: driverInput(driverId) }, adminToken);
    expect(created.errors).toBeUndefined();
    expect(created.data?.upsertDriver.id).toBe(driverId);
    const driverToken = await stack.token('driver', driverId);
    const me = await http(stack.httpUrl, '{ me { __typename ... on Driver { id name rating vehicle } } }', {}, driverToken);
    expect(me.data?.me).toEqual({ __typename: 'Driver', id: driverId, name: 'Asha', rating: 4.8, vehicle: 'Blue Swift' });
  });

  it('answers a syntax error on an open socket with an error result and keeps the socket usable', async () => {
    const ws = wsConnect(stack.wsUrl, adminToken);
    await ws.connected;
    const broken = await ws.request('{ me { __typename ');
    expect(broken.errors?.[0]?.message).toMatch(/Syntax Error/);
    const invalid = await ws.request('{ noSuchField }');
    expect(invalid.errors?.[0]?.message).toMatch(/Cannot query field "noSuchField"/);
    // Same socket, still open, still answering.
    const ok = await ws.request('{ me { __typename } }');
    expect(ok.data?.me).toEqual({ __typename: 'Admin' });
    await ws.close();
    expect((await ws.closed).code).toBe(1000);
  });

  it('serves GraphiQL over HTTP outside production', async () => {
    const res = await fetch(stack.httpUrl, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('GraphiQL');
  });
});

describe('identity and roles', () => {
  it('rejects an invalid HTTP token with 401 UNAUTHENTICATED', async () => {
    const res = await http(stack.httpUrl, '{ me { __typename } }', {}, 'garbage');
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers an operation needing a role without a token with UNAUTHENTICATED', async () => {
    const res = await http(stack.httpUrl, '{ me { __typename } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers the wrong role with FORBIDDEN and changes nothing', async () => {
    const riderToken = await stack.token('rider', uniqueId('r'));
    const id = uniqueId('d');
    const res = await http(stack.httpUrl, UPSERT_DRIVER, { input: driverInput(id) }, riderToken);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await stack.services.db.driver.findUnique({ where: { id } })).toBeNull();
  });

  it('answers a valid token of an unregistered subject with NOT_REGISTERED', async () => {
    const token = await stack.token('driver', uniqueId('ghost'));
    const res = await http(stack.httpUrl, '{ me { __typename } }', {}, token);
    expect(res.errors?.[0]?.extensions?.code).toBe('NOT_REGISTERED');
  });

  it('validates registry input with typed errors naming the field', async () => {
    const bad = [
      [{ ...driverInput(uniqueId('d')), rating: 7 }, 'rating'],
      [{ ...driverInput('bad id with spaces'), rating: 4 }, 'id'],
      [{ ...driverInput(uniqueId('d')), name: '   ' }, 'name'],
    ] as const;
    for (const [input, field] of bad) {
      const res = await http(stack.httpUrl, UPSERT_DRIVER, { input }, adminToken);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });
});

describe('graceful shutdown', () => {
  it('lets a mutation under way finish, refuses new operations, then closes sockets with 1001', async () => {
    const own = await startStack();
    const riderId = uniqueId('r');
    const admin = await own.token('admin', 'ops');
    await own.services.registry.upsertRider({ id: riderId, name: 'Before' });
    const ws = wsConnect(own.wsUrl, admin);
    await ws.connected;
    // Hold the rider's row so the mutation is provably still running when shutdown begins.
    const blocker = await own.services.db.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM "Rider" WHERE id = ${riderId} FOR UPDATE`;
        const pending = ws.request(`mutation { upsertRider(input: { id: "${riderId}", name: "After" }) { name } }`);
        await new Promise((r) => setTimeout(r, 200));
        const closing = own.instances[0]!.server.close();
        const late = await ws.request('{ me { __typename } }');
        expect(late.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
        return { pending, closing };
      },
      { timeout: 10_000 },
    );
    expect((await blocker.pending).data).toEqual({ upsertRider: { name: 'After' } });
    await blocker.closing;
    expect((await ws.closed).code).toBe(1001);
    await own.stop();
  });
});

describe('health', () => {
  it('reports /health and /ready with every dependency up', async () => {
    const base = stack.httpUrl.replace('/graphql', '');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', down: [] });
  });

  it('stays ready (degraded, naming it) with one shard down, and answers 503 with none left', async () => {
    const extra = await startStack({ shards: 2 });
    const ready = async () => {
      const res = await fetch(extra.httpUrl.replace('/graphql', '/ready'));
      return { status: res.status, body: (await res.json()) as { status: string; down: string[]; shards: unknown } };
    };
    try {
      await extra.shards[1]!.kill();
      for (let i = 0; i < 3; i++) await extra.services.router.checkHealth();
      const one = await ready();
      expect(one.status).toBe(200);
      expect(one.body).toEqual({ status: 'degraded', down: ['redis shard s2'], shards: [{ name: 's1', healthy: true }, { name: 's2', healthy: false }] });
      await extra.shards[0]!.kill();
      for (let i = 0; i < 3; i++) await extra.services.router.checkHealth();
      const none = await ready();
      expect(none.status).toBe(503);
      expect(none.body).toMatchObject({ status: 'unavailable', down: ['redis shard s1', 'redis shard s2'] });
    } finally {
      await extra.stop();
    }
  });
});
