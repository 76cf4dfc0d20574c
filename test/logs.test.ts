// Operate it, acceptance 5: structured log lines for one ride, each state change once, with the
// request id of the HTTP request or graphql-ws operation that caused it (a caller's x-request-id
// kept, returned in the HTTP response), the caller's role and id, the ride's and driver's ids;
// nothing per location update, and no token on any line.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { OFFERS, REQUEST, UPDATE_LOCATION } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider } from './helpers/fixtures.ts';
import { eventually, wsConnect, type WsClient } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

type Line = Record<string, any>;
const lines: Line[] = [];

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { LOG_LEVEL: 'info', MATCH_MAX_ROUNDS: '2' }, logTo: { write: (line: string) => void lines.push(JSON.parse(line)) } });
});
afterAll(() => stack?.stop());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function post(query: string, variables: Record<string, unknown>, token: string, requestId?: string) {
  const res = await fetch(stack.httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(requestId ? { 'x-request-id': requestId } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { requestId: res.headers.get('x-request-id'), body: (await res.json()) as Line };
}

describe('the log lines of one ride', () => {
  const pickup = { lat: 59.3293, lng: 18.0686 };
  const socketId = `sock-${uniqueId('s')}`;
  let driverId: string;
  let driverToken: string;
  let driver: WsClient;

  beforeAll(async () => {
    const [profile] = await registerDrivers(stack.services, [{ id: uniqueId('drv') }]);
    driverId = profile!.id;
    driverToken = await stack.token('driver', driverId);
    driver = wsConnect(stack.wsUrl, driverToken, {}, { 'x-request-id': socketId });
    await driver.connected;
  });
  afterAll(() => driver?.close());

  it('one line per state change, with the request that made it', async () => {
    const offers = driver.subscribe<any>(OFFERS);
    await eventually(() => stack.services.events.openStreams === 1);
    const linesBefore = lines.length;
    for (let i = 0; i < 5; i++) {
      const ack = await driver.request(UPDATE_LOCATION, { input: { ...offset(pickup.lat, pickup.lng, 0.3), recordedAt: new Date(Date.now() - 100 + i).toISOString() } });
      expect(ack.errors).toBeUndefined();
    }
    expect(lines.slice(linesBefore)).toEqual([]); // nothing per location update

    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const riderToken = await stack.token('rider', riderId);
    const input = { pickup, dropoff: offset(pickup.lat, pickup.lng, 3), carType: 'ECONOMY', paymentMethod: 'CARD' };
    const requested = await post(REQUEST, { input }, riderToken, 'client-trace-42');
    expect(requested.requestId).toBe('client-trace-42');
    const rideId: string = requested.body.data.requestRide.id;

    expect((await offers.next()).data?.driverOffers).toMatchObject({ __typename: 'RideOffer', ride: { id: rideId } });
    const accepted = await driver.request(`mutation($id: ID!) { acceptRide(rideId: $id) { __typename } }`, { id: rideId });
    expect(accepted.data?.acceptRide.__typename).toBe('RideAssignment');
    for (const step of ['arrivedAtPickup', 'startTrip']) {
      expect((await driver.request(`mutation($id: ID!) { ${step}(rideId: $id) { status } }`, { id: rideId })).errors).toBeUndefined();
    }
    const done = await driver.request(`mutation($id: ID!) { completeRide(rideId: $id) { status } }`, { id: rideId });
    expect(done.data?.completeRide.status).toBe('COMPLETED');

    const ofRide = await eventually(() => {
      const found = lines.filter((l) => l.rideId === rideId);
      if (found.length < 6) throw new Error(`${found.length} lines for the ride so far`);
      return found;
    });
    expect(ofRide.map((l) => l.msg)).toEqual(['ride requested', 'ride offered (round 1)', 'ride assigned', 'driver at the pickup', 'trip started', 'ride ended: completed']);
    const [req, offered, assigned, arrived, started, ended] = ofRide as [Line, Line, Line, Line, Line, Line];
    for (const step of [arrived, started]) expect(step).toMatchObject({ transport: 'ws', socketId, role: 'driver', callerId: driverId, driverId, riderId });
    for (const l of ofRide) expect(l).toMatchObject({ level: 30, service: 'ridematch', rideId, time: expect.any(Number) });

    // requestRide over HTTP: the caller's x-request-id is kept.
    expect(req).toMatchObject({ requestId: 'client-trace-42', transport: 'http', role: 'rider', callerId: riderId, riderId });
    expect(offered).toMatchObject({ requestId: 'client-trace-42', transport: 'http', round: 1, driverIds: [driverId] });
    // acceptRide and completeRide over graphql-ws: an id per operation, the socket's id kept.
    expect(assigned).toMatchObject({ transport: 'ws', socketId, role: 'driver', callerId: driverId, driverId, riderId, round: 1 });
    expect(ended).toMatchObject({ transport: 'ws', socketId, role: 'driver', callerId: driverId, driverId, status: 'COMPLETED', outcome: 'completed' });
    expect(assigned.requestId).toMatch(UUID);
    expect(ended.requestId).toMatch(UUID);
    expect(ended.requestId).not.toBe(assigned.requestId);

    const text = JSON.stringify(lines);
    for (const token of [riderToken, driverToken]) expect(text).not.toContain(token);
  });

  it('a ride nobody can take ends in one line; the round poller adds none of its own', async () => {
    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const input = { pickup: { lat: -54.8, lng: -68.3 }, dropoff: { lat: -54.79, lng: -68.31 }, carType: 'ECONOMY', paymentMethod: 'CARD' };
    const { requestId, body } = await post(REQUEST, { input }, await stack.token('rider', riderId));
    expect(requestId).toMatch(UUID);
    const rideId: string = body.data.requestRide.id;
    expect(body.data.requestRide.status).toBe('NO_DRIVERS_AVAILABLE');
    const ofRide = lines.filter((l) => l.rideId === rideId);
    expect(ofRide.map((l) => [l.msg, l.requestId])).toEqual([
      ['ride requested', requestId],
      ['ride ended: no drivers available', requestId],
    ]);
    expect(ofRide[1]).toMatchObject({ status: 'NO_DRIVERS_AVAILABLE', outcome: 'no_drivers_available', reason: expect.stringMatching(/no available driver/) });
  });

  it("gives every WebSocket its id in the upgrade response, and an operation the requestId its extensions name", async () => {
    const upgradeId = (headers?: Record<string, string>) =>
      new Promise<unknown>((resolve, reject) => {
        const ws = new WebSocket(stack.wsUrl, 'graphql-transport-ws', { headers });
        ws.once('upgrade', (res) => resolve(res.headers['x-request-id']));
        ws.once('open', () => ws.close());
        ws.once('error', reject);
      });
    expect(await upgradeId()).toMatch(UUID);
    expect(await upgradeId({ 'x-request-id': 'lb-trace-7' })).toBe('lb-trace-7');
    expect(await upgradeId({ 'x-request-id': 'two words' })).toMatch(UUID);

    // A browser cannot set the upgrade's headers: an operation may name its own id.
    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const rider = wsConnect(stack.wsUrl, await stack.token('rider', riderId), {}, { 'x-request-id': 'rider-socket-1' });
    try {
      await rider.connected;
      const input = { pickup: { lat: 59.9, lng: 10.75 }, dropoff: offset(59.9, 10.75, 3), carType: 'ECONOMY', paymentMethod: 'CARD' };
      const traced = await new Promise<any>((resolve, reject) => {
        let result: unknown;
        rider.client.subscribe({ query: REQUEST, variables: { input }, extensions: { requestId: 'app-trace-9' } }, { next: (r) => (result = r), error: reject, complete: () => resolve(result) });
      });
      const rideId: string = traced.data.requestRide.id;
      const requested = await eventually(() => lines.find((l) => l.rideId === rideId && l.msg === 'ride requested') ?? Promise.reject(new Error('no line yet')));
      expect(requested).toMatchObject({ requestId: 'app-trace-9', socketId: 'rider-socket-1', transport: 'ws' });
    } finally {
      await rider.close();
    }
  });

  it('gives every HTTP request an id, replacing one that is not an id', async () => {
    const health = await fetch(stack.httpUrl.replace('/graphql', '/health'));
    expect(health.headers.get('x-request-id')).toMatch(UUID);
    const odd = await fetch(stack.httpUrl.replace('/graphql', '/health'), { headers: { 'x-request-id': 'two words' } });
    expect(odd.headers.get('x-request-id')).toMatch(UUID);
    const long = await fetch(stack.httpUrl.replace('/graphql', '/health'), { headers: { 'x-request-id': 'x'.repeat(129) } });
    expect(long.headers.get('x-request-id')).toMatch(UUID);
    const kept = await fetch(stack.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'Root=1-abc:def' }, body: '{"query":"{ __typename }"}' });
    expect(kept.headers.get('x-request-id')).toBe('Root=1-abc:def');
    expect(kept.status).toBe(200);
  });
});

describe("errors the API masks (a frozen shard, a lost database)", () => {
  const own: Line[] = [];
  let frozen: Stack;
  beforeAll(async () => {
    frozen = await startStack({ env: { LOG_LEVEL: 'info', REDIS_COMMAND_TIMEOUT_MS: '200' }, logTo: { write: (line: string) => void own.push(JSON.parse(line)) } });
  });
  afterAll(() => frozen?.stop());

  it('are one JSON line on our log, like every other line, and nothing on the console', async () => {
    // Yoga's own logger printed them with console.error: several lines of text and a stack,
    // outside our scrubbing of credentials.
    const printed: unknown[][] = [];
    const spies = (['error', 'warn', 'info', 'log', 'debug'] as const).map((method) => vi.spyOn(console, method).mockImplementation((...args) => void printed.push(args)));
    const [profile] = await registerDrivers(frozen.services, [{ id: uniqueId('frz') }]);
    const token = await frozen.token('driver', profile!.id);
    for (const shard of frozen.shards) shard.pause();
    try {
      const res = await fetch(frozen.httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: UPDATE_LOCATION, variables: { input: { lat: 59.33, lng: 18.07, recordedAt: new Date().toISOString() } } }),
      });
      const body = (await res.json()) as Line;
      expect(body.errors[0].extensions.code).toMatch(/^(RETRYABLE|SERVICE_UNAVAILABLE)$/);
      const masked = own.find((l) => l.source === 'graphql-yoga');
      expect(masked).toMatchObject({ level: 50, err: { message: expect.any(String) } });
      expect(printed).toEqual([]);
    } finally {
      for (const shard of frozen.shards) shard.resume();
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe("a client's WebSocket protocol error (a frame over WS_MAX_PAYLOAD_BYTES)", () => {
  it('closes that socket with 1009 and is one line on our log, nothing on the console', async () => {
    // graphql-ws printed "Internal error emitted on a WebSocket socket" and the stack with
    // console.error for every such frame: any client could write to stderr at will.
    const printed: unknown[][] = [];
    const spies = (['error', 'warn'] as const).map((method) => vi.spyOn(console, method).mockImplementation((...args) => void printed.push(args)));
    const linesBefore = lines.length;
    const ws = new WebSocket(stack.wsUrl, 'graphql-transport-ws');
    try {
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.send('x'.repeat(stack.config.ws.maxPayloadBytes + 1));
      expect(await closed).toBe(1009);
      await eventually(() => lines.slice(linesBefore).some((l) => l.msg === 'WebSocket closed: protocol error from the client'));
      expect(printed).toEqual([]);
    } finally {
      ws.terminate();
      for (const spy of spies) spy.mockRestore();
    }
  });
});
