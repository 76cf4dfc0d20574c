// Issue 9, acceptances 1, 2, 3 and 7: per-identity rate limits in Redis (both transports, both
// instances, aliases counted), one live ride per rider, operation limits refused before
// execution, and WebSocket limits. Every limit is set low here so it can be hit quickly.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDriver, REQUEST, UPDATE_LOCATION } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider } from './helpers/fixtures.ts';
import { eventually, http, wsConnect } from './helpers/graphql.ts';
import { startStack, uniqueId, type Instance, type Stack } from './helpers/stack.ts';

let stack: Stack;
let second: Instance;
const LIMITS = {
  LOCATION_RATE_PER_S: '0.5',
  LOCATION_BURST: '3',
  RIDE_REQUEST_LIMIT: '3',
  RIDE_REQUEST_WINDOW_MS: '60000',
  OPERATION_LIMIT: '40',
  ADMIN_OPERATION_LIMIT: '25',
  AUTH_FAILURE_LIMIT: '4',
  WS_MAX_SOCKETS_PER_IDENTITY: '2',
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '2',
  GRAPHQL_MAX_ALIASES: '15',
  GRAPHQL_MAX_DEPTH: '3',
  GRAPHQL_MAX_TOKENS: '2000',
  GRAPHQL_MAX_COST: '600',
  HTTP_MAX_BODY_BYTES: '65536',
};

beforeAll(async () => {
  stack = await startStack({ env: LIMITS });
  second = await stack.startInstance();
});
afterAll(() => stack?.stop());

const here = { lat: 48.8566, lng: 2.3522 };
const location = (i: number) => ({ input: { ...offset(here.lat, here.lng, 0.01 * i), recordedAt: new Date(Date.now() - 10_000 + i).toISOString() } });

/** A POST as any client would send it, with full control of the body and headers. */
async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (e.g. an empty 413)
  }
  return { status: res.status, headers: res.headers, json, text };
}

describe('per-identity rate limits (acceptance 1)', () => {
  it('limits location updates per driver on both transports and both instances, writing nothing over the limit', async () => {
    const [driver] = await registerDrivers(stack.services, [{ id: uniqueId('loc') }]);
    const token = await stack.token('driver', driver!.id);
    const ws = wsConnect(second.wsUrl, token);
    await ws.connected;
    // Burst of 3: one over HTTP on instance A, two over the socket on instance B.
    expect((await http(stack.httpUrl, UPDATE_LOCATION, location(1), token)).errors).toBeUndefined();
    expect((await ws.request(UPDATE_LOCATION, location(2))).errors).toBeUndefined();
    expect((await ws.request(UPDATE_LOCATION, location(3))).errors).toBeUndefined();
    const before = await stack.services.router.owner(`driver:${driver!.id}`).redis.hget(`drv:{${driver!.id}}`, 'at');

    const overWs = await ws.request(UPDATE_LOCATION, location(4));
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(overWs.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(0);
    expect(overWs.errors![0]!.extensions!.retryAfterMs).toBeLessThanOrEqual(2_000);
    const overHttp = await http(stack.httpUrl, UPDATE_LOCATION, location(5), token);
    expect(overHttp.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // Nothing changed, and the socket is still open and answering.
    expect(await stack.services.router.owner(`driver:${driver!.id}`).redis.hget(`drv:{${driver!.id}}`, 'at')).toBe(before);
    expect((await ws.request('{ me { __typename } }')).data?.me).toEqual({ __typename: 'Driver' });
    await ws.close();
  });

  it('counts every alias of a limited mutation', async () => {
    const [driver] = await registerDrivers(stack.services, [{ id: uniqueId('alias') }]);
    const token = await stack.token('driver', driver!.id);
    const at = (i: number) => `{ lat: ${here.lat}, lng: ${here.lng + i / 1000}, recordedAt: "${new Date(Date.now() - 5_000 + i).toISOString()}" }`;
    const doc = `mutation { ${[1, 2, 3, 4, 5, 6].map((i) => `u${i}: updateDriverLocation(input: ${at(i)}) { outOfOrder }`).join(' ')} }`;
    const res = await http(stack.httpUrl, doc, {}, token);
    const limited = (res.errors ?? []).filter((e) => e.extensions?.code === 'RATE_LIMITED');
    // The fourth is refused (mutations run in order; a failed non-null field stops the rest).
    expect(limited.map((e) => e.path?.[0])).toEqual(['u4']);
    // The first three were written (the record holds the third), the others were not.
    const lng = await stack.services.router.owner(`driver:${driver!.id}`).redis.hget(`drv:{${driver!.id}}`, 'lng');
    expect(Number(lng)).toBeCloseTo(here.lng + 3 / 1000, 6);
  });

  it('limits requestRide per rider, counting aliases, across instances', async () => {
    const riderId = uniqueId('spam');
    await registerRider(stack.services, riderId);
    const token = await stack.token('rider', riderId);
    const input = (i: number) => `{ pickup: { lat: 1.3, lng: ${103.8 + i / 100} }, dropoff: { lat: 1.35, lng: 103.85 }, carType: ECONOMY, paymentMethod: CARD }`;
    // Three aliases use up the budget of 3 (nobody drives here: each ride ends at once, so the
    // one-live-ride rule does not stop them).
    const doc = `mutation { ${[1, 2, 3].map((i) => `r${i}: requestRide(input: ${input(i)}) { id status }`).join(' ')} }`;
    const first = await http(stack.httpUrl, doc, {}, token);
    expect(first.errors).toBeUndefined();
    expect(Object.values(first.data!).map((r: any) => r.status)).toEqual(['NO_DRIVERS_AVAILABLE', 'NO_DRIVERS_AVAILABLE', 'NO_DRIVERS_AVAILABLE']);
    const onB = await http(second.httpUrl, `mutation { requestRide(input: ${input(4)}) { id } }`, {}, token);
    expect(onB.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(onB.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(50_000);
    expect(await stack.services.db.ride.count({ where: { riderId } })).toBe(3);
  });

  it('gives every identity an operation budget, admins their own, anonymous callers one per address', async () => {
    const admin = await stack.token('admin', uniqueId('ops'));
    const answers = [];
    for (let i = 0; i < 26; i++) answers.push(await http(i % 2 ? second.httpUrl : stack.httpUrl, '{ me { __typename } }', {}, admin));
    expect(answers.slice(0, 25).every((a) => a.data?.me)).toBe(true);
    expect(answers[25]!.status).toBe(429);
    expect(answers[25]!.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    // Five aliases cost five.
    const otherAdmin = await stack.token('admin', uniqueId('ops'));
    const five = `{ ${[1, 2, 3, 4, 5].map((i) => `m${i}: me { __typename }`).join(' ')} }`;
    for (let i = 0; i < 5; i++) expect((await http(stack.httpUrl, five, {}, otherAdmin)).errors).toBeUndefined();
    expect((await http(stack.httpUrl, five, {}, otherAdmin)).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('limits failed sign-ins per address: 401s, then 429 even for a valid token, and WS closes with 4429', async () => {
    const own = await startStack({ env: LIMITS });
    try {
      for (let i = 0; i < 4; i++) expect((await http(own.httpUrl, '{ me { __typename } }', {}, `forged-${i}`)).status).toBe(401);
      const valid = await own.token('admin', 'ops');
      const blocked = await http(own.httpUrl, '{ me { __typename } }', {}, valid);
      expect(blocked.status).toBe(429);
      expect(blocked.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      const ws = wsConnect(own.wsUrl, valid);
      expect((await ws.closed).code).toBe(4429);
      // Without a token nobody is judged: anonymous calls still answer.
      expect((await http(own.httpUrl, '{ __typename }')).data).toEqual({ __typename: 'Query' });
    } finally {
      await own.stop();
    }
  });
});

describe('one live ride per rider (acceptance 2)', () => {
  it('one rider sending 200 requests in 5 s gets one ride; an honest rider next to them still gets an offer', async () => {
    const own = await startStack({ env: { MATCH_BATCH_SIZE: '5', MATCH_ROUND_TIMEOUT_MS: '20000', RIDE_REQUEST_LIMIT: '1000' } });
    try {
      const pickup = { lat: 40.4168, lng: -3.7038 };
      const profiles = await registerDrivers(own.services, Array.from({ length: 30 }, () => ({ id: uniqueId('nd') })));
      const drivers = await Promise.all(profiles.map((p) => connectDriver(own, own.wsUrl, p)));
      await Promise.all(drivers.map((d, i) => d.report(offset(pickup.lat, pickup.lng, 0.03 * (i + 1)))));
      const spammer = uniqueId('spam');
      const honest = uniqueId('honest');
      await Promise.all([registerRider(own.services, spammer), registerRider(own.services, honest)]);
      const spamToken = await own.token('rider', spammer);
      const input = { input: { pickup, dropoff: offset(pickup.lat, pickup.lng, 2), carType: 'ECONOMY', paymentMethod: 'CARD' } };
      const answers = [];
      for (let wave = 0; wave < 10; wave++) {
        answers.push(...(await Promise.all(Array.from({ length: 20 }, () => http(own.httpUrl, REQUEST, input, spamToken)))));
        await new Promise((r) => setTimeout(r, 250));
      }
      const created = new Set(answers.filter((a) => a.data?.requestRide).map((a) => a.data!.requestRide.id));
      expect(created.size).toBe(1);
      const refusals = answers.filter((a) => a.errors);
      expect(refusals.length).toBe(199);
      for (const r of refusals) expect(r.errors![0]!.extensions).toMatchObject({ code: 'ACTIVE_RIDE_EXISTS', rideId: [...created][0] });
      expect(await own.services.db.ride.count({ where: { riderId: spammer } })).toBe(1);

      const mine = await http(own.httpUrl, REQUEST, input, await own.token('rider', honest));
      expect(mine.errors).toBeUndefined();
      const offered = await own.services.db.rideOffer.count({ where: { rideId: mine.data!.requestRide.id } });
      expect(offered).toBe(5);
      await Promise.all(drivers.map((d) => d.close()));
    } finally {
      await own.stop();
    }
  });
});

describe('operation limits, refused before execution on both transports (acceptance 3)', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await stack.token('admin', uniqueId('limits'));
  });

  const cases: Array<[string, string, string]> = [
    ['aliases', `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: __typename`).join(' ')} }`, 'aliases'],
    ['depth', '{ myOffers { ride { pickup { lat } } } }', 'depth'],
    ['tokens', `{ me { __typename ${'  __typename'.repeat(2_100)} } }`, 'tokens'],
    ['directives', `{ me { __typename ${'@include(if: true) '.repeat(25)} } }`, 'directives'],
    ['cost', '{ nearbyDrivers(lat: 1, lng: 1, radiusKm: 1, limit: 500) { driverId driver { id name vehicle } } }', 'cost'],
  ];

  it.each(cases)('refuses a document over the %s limit with a typed error, over HTTP and WS', async (_name, doc, limit) => {
    const overHttp = await http(stack.httpUrl, doc, {}, admin);
    expect(overHttp.data ?? null).toBeNull();
    expect(overHttp.errors?.[0]?.extensions, JSON.stringify(overHttp.errors)).toMatchObject({ code: 'OPERATION_LIMIT', limit });
    const ws = wsConnect(stack.wsUrl, admin);
    await ws.connected;
    const overWs = await ws.request(doc);
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_LIMIT', limit });
    // The socket lives on.
    expect((await ws.request('{ me { __typename } }')).data?.me).toEqual({ __typename: 'Admin' });
    await ws.close();
  });

  it('weights list fields by their limit argument: a small limit is cheap', async () => {
    const cheap = await http(stack.httpUrl, '{ nearbyDrivers(lat: 1, lng: 1, radiusKm: 1, limit: 20) { driverId driver { id } } }', {}, admin);
    expect(cheap.errors).toBeUndefined();
  });

  it('refuses a huge anonymous document with 413 and keeps /health answering while 20 arrive', async () => {
    const aliases = `{ ${Array.from({ length: 60_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const body = JSON.stringify({ query: aliases });
    expect(body.length).toBeGreaterThan(1_000_000);
    const floods = Array.from({ length: 20 }, () => post(stack.httpUrl, body));
    const health = await fetch(stack.httpUrl.replace('/graphql', '/health'));
    expect(health.status).toBe(200);
    for (const r of await Promise.all(floods)) expect(r.status).toBe(413);
    // Under the body limit, the parser stops counting at the token limit: a typed refusal, not a parse of everything.
    const small = `{ ${Array.from({ length: 3_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const refused = await post(stack.httpUrl, JSON.stringify({ query: small }));
    expect(refused.json.errors[0].extensions).toMatchObject({ code: 'OPERATION_LIMIT', limit: 'tokens' });
  });

  it('answers a parser stack overflow as a typed 400, on both transports', async () => {
    const own = await startStack({ env: { ...LIMITS, GRAPHQL_MAX_TOKENS: '100000', HTTP_MAX_BODY_BYTES: '200000' } });
    try {
      const deep = `{ nearbyDrivers(lat: ${'['.repeat(20_000)}1${']'.repeat(20_000)}, lng: 1, radiusKm: 1) { driverId } }`;
      for (const accept of ['application/json', 'application/graphql-response+json', '*/*']) {
        const res = await post(own.httpUrl, JSON.stringify({ query: deep }), { accept });
        expect(res.status).toBe(400);
        expect(res.json.errors[0].extensions).toMatchObject({ code: 'OPERATION_LIMIT', limit: 'nesting' });
      }
      const res = await post(own.httpUrl, JSON.stringify({ query: deep }));
      expect(res.json.errors[0].extensions).toMatchObject({ code: 'OPERATION_LIMIT', limit: 'nesting' });
      const ws = wsConnect(own.wsUrl, await own.token('admin', 'x'));
      await ws.connected;
      expect((await ws.request(deep)).errors?.[0]?.extensions?.limit).toBe('nesting');
      expect((await ws.request('{ __typename }')).data).toEqual({ __typename: 'Query' });
      await ws.close();
    } finally {
      await own.stop();
    }
  });

  it('refuses a chunked body over the limit as it arrives', async () => {
    const big = JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(100_000) } });
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const res = await fetch(stack.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });

  // The server counts body bytes with a 'data' listener, which sets the body flowing: it must
  // still reach Yoga whole when it arrives with the headers (as browsers send small POSTs), which
  // holds only while nothing before Yoga's body parser waits (test/graphiql.test.ts found this).
  it('reads a body that arrives in the same packet as its headers', async () => {
    const body = JSON.stringify({ query: '{ __typename }' });
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(stack.httpUrl).port), '127.0.0.1', () =>
        socket.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    expect(answer).toContain('{"data":{"__typename":"Query"}}');
  });
});

describe('WebSocket limits (acceptance 7)', () => {
  it('allows at most N subscriptions per socket, with a typed error for the one too many', async () => {
    const [driver] = await registerDrivers(stack.services, [{ id: uniqueId('subs') }]);
    const ws = wsConnect(stack.wsUrl, await stack.token('driver', driver!.id));
    await ws.connected;
    const feed = '{ driverOffers { __typename } }'.replace('{', 'subscription {');
    const a = ws.subscribe(feed);
    const b = ws.subscribe(feed);
    const c = ws.subscribe(feed);
    const third = await c.next();
    expect(third.errors?.[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    // Ending one frees its place.
    a.stop();
    await eventually(async () => {
      const d = ws.subscribe(feed);
      await new Promise((r) => setTimeout(r, 100));
      const ok = !d.received.some((r) => r.errors);
      d.stop();
      return ok;
    });
    b.stop();
    expect((await ws.request('{ me { __typename } }')).data?.me).toEqual({ __typename: 'Driver' });
    await ws.close();
  });

  it('allows at most M sockets per identity across instances; the next one closes with 4409', async () => {
    const [driver] = await registerDrivers(stack.services, [{ id: uniqueId('socks') }]);
    const token = await stack.token('driver', driver!.id);
    const one = wsConnect(stack.wsUrl, token);
    const two = wsConnect(second.wsUrl, token);
    await Promise.all([one.connected, two.connected]);
    const three = wsConnect(stack.wsUrl, token);
    expect((await three.closed).code).toBe(4409);
    await one.close();
    // A closed socket gives its slot back.
    await eventually(async () => {
      const again = wsConnect(second.wsUrl, token);
      const ok = await again.connected.then(() => true, () => false);
      await again.close();
      return ok;
    });
    await two.close();
  });

  it('runs subscriptions over graphql-ws only: an SSE request is refused', async () => {
    const [driver] = await registerDrivers(stack.services, [{ id: uniqueId('sse') }]);
    const res = await fetch(stack.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await stack.token('driver', driver!.id)}` },
      body: JSON.stringify({ query: 'subscription { driverOffers { __typename } }' }),
    });
    const text = await res.text();
    expect(text).toMatch(/graphql-ws/);
    expect(text).not.toMatch(/RideOffer/);
  });
});
