// Issue 9, acceptances 4, 5 and 9: tokens must expire and, when configured, name our issuer and
// audience; a socket is closed when its token expires; production hides the schema; no secret
// reaches a response or a log line.
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/auth.ts';
import { createLogger } from '../src/logger.ts';
import { http, wsConnect } from './helpers/graphql.ts';
import { startStack, TEST_SECRET, type Stack } from './helpers/stack.ts';

const key = new TextEncoder().encode(TEST_SECRET);
const unsigned = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('ops-1');

describe('token claims (acceptance 5)', () => {
  let stack: Stack;
  const policy = { secret: TEST_SECRET, issuer: 'https://auth.ridematch.test', audience: 'ridematch-api' };
  beforeAll(async () => {
    stack = await startStack({ env: { JWT_ISSUER: policy.issuer, JWT_AUDIENCE: policy.audience } });
  });
  afterAll(() => stack?.stop());

  const me = (token: string) => http(stack.httpUrl, '{ me { __typename } }', {}, token);

  it('accepts a token with exp, our issuer and our audience, on both transports', async () => {
    const token = await signToken(policy, { role: 'admin', id: 'ops-1' });
    expect((await me(token)).data?.me).toEqual({ __typename: 'Admin' });
    const ws = wsConnect(stack.wsUrl, token);
    await expect(ws.connected).resolves.toBeUndefined();
    await ws.close();
  });

  it.each([
    ['no exp', () => unsigned({ role: 'admin' }).setIssuer(policy.issuer).setAudience(policy.audience).sign(key), /exp/],
    ['another issuer', () => unsigned({ role: 'admin' }).setIssuer('https://evil.test').setAudience(policy.audience).setExpirationTime('1h').sign(key), /iss/],
    ['another audience', () => unsigned({ role: 'admin' }).setIssuer(policy.issuer).setAudience('other-api').setExpirationTime('1h').sign(key), /aud/],
    ['no issuer', () => unsigned({ role: 'admin' }).setAudience(policy.audience).setExpirationTime('1h').sign(key), /iss/],
    ['a sub with a control character', () => new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('ops\u0000').setIssuer(policy.issuer).setAudience(policy.audience).setExpirationTime('1h').sign(key), /sub/],
  ])('refuses a token with %s: 401 over HTTP, 4403 with the reason over WS', async (_name, make, reason) => {
    const token = await make();
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]).toMatchObject({ message: expect.stringMatching(reason), extensions: { code: 'UNAUTHENTICATED' } });
    const ws = wsConnect(stack.wsUrl, token);
    const closed = await ws.closed;
    expect(closed.code).toBe(4403);
    expect(closed.reason).toMatch(reason);
  });

  it('closes a socket with 4403 "token expired" when its token expires', async () => {
    const token = await signToken(policy, { role: 'admin', id: 'ops-1' }, '2s');
    const ws = wsConnect(stack.wsUrl, token);
    await ws.connected;
    const opened = Date.now();
    expect((await ws.request('{ me { __typename } }')).data?.me).toEqual({ __typename: 'Admin' });
    const closed = await ws.closed;
    expect(closed).toEqual({ code: 4403, reason: 'token expired' });
    expect(Date.now() - opened).toBeLessThan(3_000);
  });

  it("ends a subscription authorized by its own token (an anonymous socket, as GraphiQL's) when that token expires; the socket stays open", async () => {
    const driverId = 'd-expiring-1';
    const admin = await signToken(policy, { role: 'admin', id: 'ops-1' });
    const created = await http(stack.httpUrl, 'mutation($input: UpsertDriverInput!) { upsertDriver(input: $input) { id } }', {
      input: { id: driverId, name: 'Ines Faro', carType: 'ECONOMY', paymentPreference: 'ANY', rating: 4.8, vehicle: 'Blue Corsa' },
    }, admin);
    expect(created.errors).toBeUndefined();
    const shortLived = await signToken(policy, { role: 'driver', id: driverId }, '2s');
    const ws = wsConnect(stack.wsUrl);
    await ws.connected;
    const events: any[] = [];
    const ended = new Promise<void>((resolve) => {
      ws.client.subscribe(
        { query: 'subscription { driverOffers { __typename } }', extensions: { headers: { Authorization: `Bearer ${shortLived}` } } },
        { next: (r) => events.push(r), error: (e) => (events.push({ thrown: e }), resolve()), complete: () => resolve() },
      );
    });
    const outcome = await Promise.race([ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still running 6 s later'), 6_000))]);
    expect(outcome).toBe('ended');
    expect(events.at(-1)?.errors?.[0]).toMatchObject({ message: 'token expired', extensions: { code: 'UNAUTHENTICATED' } });
    // Only that operation ended: the socket still runs others.
    expect((await ws.request('{ __typename }')).data).toEqual({ __typename: 'Query' });
    await ws.close();
  });
});

describe('production mode (acceptance 4)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { NODE_ENV: 'production' } });
  });
  afterAll(() => stack?.stop());

  it('answers introspection and "did you mean" with nothing, on HTTP and WS', async () => {
    const admin = await stack.token('admin', 'ops');
    const ws = wsConnect(stack.wsUrl, admin);
    await ws.connected;
    for (const run of [(q: string) => http(stack.httpUrl, q, {}, admin), (q: string) => ws.request(q)]) {
      const schema = await run('{ __schema { types { name } } }');
      expect(schema.data ?? null).toBeNull();
      expect(schema.errors?.[0]?.message).toMatch(/introspection/i);
      const typo = await run('{ mee { __typename } }');
      expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
      expect(JSON.stringify(typo)).not.toContain('"me"');
    }
    await ws.close();
    // GraphiQL is off too.
    const page = await fetch(stack.httpUrl, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('GraphiQL');
  });
});

describe('nothing secret leaves the process (acceptance 9)', () => {
  it('scrubs credentials and tokens from log lines, whatever code wrote them', async () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const log = createLogger('info', { destination });
    const jwt = await signToken(TEST_SECRET, { role: 'admin', id: 'ops' });
    log.warn({ url: 'redis://:hunter2@cache:6379', headers: { authorization: `Bearer ${jwt}` }, token: jwt }, `connecting to redis://user:hunter2@cache:6379 with ${jwt}`);
    log.error({ err: new Error(`failed: postgresql://postgres:s3cret@db/ridematch`) }, 'boom');
    const text = lines.join('');
    expect(text).not.toMatch(/hunter2|s3cret/);
    expect(text).not.toContain(jwt);
    expect(text).toContain('[redacted]');
    expect(JSON.parse(lines[0]!).msg).toBe('connecting to redis://[redacted]@cache:6379 with [redacted jwt]');
  });
});
