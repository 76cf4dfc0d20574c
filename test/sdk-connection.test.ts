// The SDK's connection as phones live it: a token that expires mid-shift (4403 "token expired",
// a fresh token from the provider, the offers feed catches up), a refused token (not retried, the
// caller hears why), and a socket cut while a mutation is in flight (graphql-ws resends it:
// idempotent mutations run once, any other rejects instead of being resent).
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signToken } from '../src/auth.ts';
import { ConnectionClosedError, createRidematchClient, OutcomeUnknownError, type DriverOfferEvent } from '../src/sdk/node.ts';
import { waitForFeed } from './helpers/actors.ts';
import { startCuttingProxy, type CuttingProxy } from './helpers/cutting-proxy.ts';
import { offset, registerDrivers, registerRider } from './helpers/fixtures.ts';
import { eventually } from './helpers/graphql.ts';
import { startStack, TEST_SECRET, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
let proxy: CuttingProxy;
beforeAll(async () => {
  stack = await startStack({ env: { MATCH_BATCH_SIZE: '1' } });
  proxy = await startCuttingProxy({ host: '127.0.0.1', port: stack.instances[0]!.server.port });
});
afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const offersFor = (events: DriverOfferEvent[], rideId: string) => events.filter((e) => e.__typename === 'RideOffer' && e.ride.id === rideId);

async function rider() {
  const id = uniqueId('rider');
  await registerRider(stack.services, id);
  return { id, client: createRidematchClient({ url: stack.httpUrl, token: await stack.token('rider', id), transport: 'http' }) };
}

it('refreshes an expired token through the provider and catches up on the offer sent meanwhile', async () => {
  const [driver] = await registerDrivers(stack.services, [{ id: uniqueId('exp') }]);
  const pickup = { lat: 12.9716, lng: 77.5946 };
  let asked = 0;
  let handOutFresh!: () => void;
  const freshTokenAllowed = new Promise<void>((resolve) => (handOutFresh = resolve));
  // The app's refresh: the first token lives 2 s; the next one comes only once the test says so,
  // so the socket is away while the ride is requested.
  const token = async () => {
    asked += 1;
    if (asked === 1) return signToken(TEST_SECRET, { role: 'driver', id: driver!.id }, '2s');
    await freshTokenAllowed;
    return stack.token('driver', driver!.id);
  };
  const client = createRidematchClient({ url: stack.httpUrl, token });
  const closes: Array<{ code: number; reason: string }> = [];
  let reconnects = 0;
  client.socket.on('closed', (e) => closes.push({ code: (e as CloseEvent).code, reason: String((e as CloseEvent).reason) }));
  client.socket.on('connected', (_s, _p, wasRetry) => (reconnects += wasRetry ? 1 : 0));
  const events: DriverOfferEvent[] = [];
  const errors: unknown[] = [];
  client.driverOffers({ next: (e) => events.push(e), error: (e) => errors.push(e) });
  await waitForFeed(stack, driver!.id);
  await client.updateDriverLocation({ ...offset(pickup.lat, pickup.lng, 0.2), recordedAt: new Date().toISOString() });

  await eventually(() => closes.length > 0, 5_000);
  expect(closes[0]).toEqual({ code: 4403, reason: 'token expired' });
  const { client: riderClient } = await rider();
  const ride = await riderClient.requestRide({ pickup, dropoff: offset(pickup.lat, pickup.lng, 2), carType: 'ECONOMY', paymentMethod: 'CARD' });
  expect(offersFor(events, ride.id)).toHaveLength(0); // published while the driver was away
  handOutFresh();

  await eventually(() => reconnects === 1 && offersFor(events, ride.id).length > 0, 10_000);
  await sleep(500); // both the SDK's re-read and the server's replay carry the offer
  expect(offersFor(events, ride.id)).toHaveLength(1);
  expect(asked).toBeGreaterThanOrEqual(2);
  expect(closes).toHaveLength(1);
  expect(errors).toEqual([]);
  // The fresh token holds the socket: an HTTP-free query over it answers as this driver.
  expect(await client.me()).toMatchObject({ __typename: 'Driver', id: driver!.id });
  await Promise.all([client.close(), riderClient.close()]);
});

it('does not retry a refused token and hands the refusal to every caller', async () => {
  const id = uniqueId('forged');
  await registerDrivers(stack.services, [{ id }]);
  const forged = await signToken('not-the-server-secret-0123456789-0123456789', { role: 'driver', id });
  const client = createRidematchClient({ url: stack.httpUrl, token: forged });
  let attempts = 0;
  client.socket.on('connecting', () => (attempts += 1));
  const feedErrors: unknown[] = [];
  client.driverOffers({ next: () => {}, error: (e) => feedErrors.push(e) });

  const failure = await client.me().catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(ConnectionClosedError);
  expect(failure).toMatchObject({ closeCode: 4403, reason: 'invalid token' });
  await eventually(() => feedErrors.length === 1);
  expect(feedErrors[0]).toMatchObject({ closeCode: 4403, reason: 'invalid token' });
  await sleep(1_500); // longer than the first backoff
  expect(attempts).toBe(1);
  await client.close();
});

it('resends requestRide after a cut and creates exactly one ride', async () => {
  const { id: riderId } = await rider();
  const client = createRidematchClient({ url: proxy.httpUrl, token: await stack.token('rider', riderId) });
  const pickup = { lat: 48.8566, lng: 2.3522 };
  const isRequest = (m: any) => m.type === 'subscribe' && m.payload.operationName === 'RequestRide';
  const cut = proxy.cutAfter(isRequest);
  const ride = await client.requestRide({ pickup, dropoff: offset(pickup.lat, pickup.lng, 3), carType: 'ECONOMY', paymentMethod: 'CASH' });
  await cut;

  const sent = proxy.sent.filter(isRequest);
  expect(sent).toHaveLength(2); // graphql-ws resent it on the new socket
  expect(sent[1].payload.variables.input.clientKey).toBe(sent[0].payload.variables.input.clientKey);
  const rows = await stack.services.db.ride.findMany({ where: { riderId }, select: { id: true } });
  expect(rows).toEqual([{ id: ride.id }]);
  await client.close();
});

it('rejects a mutation not known to be idempotent when its socket drops, instead of resending it', async () => {
  const [driver] = await registerDrivers(stack.services, [{ id: uniqueId('unsafe') }]);
  const client = createRidematchClient({ url: proxy.httpUrl, token: await stack.token('driver', driver!.id) });
  let reconnected = false;
  client.socket.on('connected', (_s, _p, wasRetry) => (reconnected ||= wasRetry));
  client.driverOffers({ next: () => {} }); // keeps the socket wanted, so it comes back after the cut
  await waitForFeed(stack, driver!.id);
  // A hand-written mutation: the SDK cannot know it is safe to run twice.
  const goOffline = parse('mutation GoOffline { setDriverStatus(status: OFFLINE) { id status } }') as TypedDocumentNode<
    { setDriverStatus: { id: string; status: string } },
    Record<string, never>
  >;
  const isGoOffline = (m: any) => m.type === 'subscribe' && m.payload.operationName === 'GoOffline';
  void proxy.cutAfter(isGoOffline);

  const failure = await client.request(goOffline, {}).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(OutcomeUnknownError);
  expect((failure as OutcomeUnknownError).message).toBe('connection lost; the outcome is unknown (GoOffline)');
  await eventually(() => reconnected, 10_000);
  await sleep(300);
  expect(proxy.sent.filter(isGoOffline)).toHaveLength(1);
  // It did run (the server got it before the cut): reading the state is how the caller finds out.
  await eventually(async () => ((await client.me()) as { status?: string }).status === 'OFFLINE');
  await client.close();
});

it('does not retry after 4400 (a protocol error will not go away), but does after the server went away (1001)', async () => {
  // A graphql-ws endpoint that closes every socket as soon as the client speaks: the SDK alone is
  // under test here, so the closing side is a bare ws server rather than ours.
  const { WebSocketServer } = await import('ws');
  const attemptsAfter = async (code: number, reason: string) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    let connections = 0;
    wss.on('connection', (ws) => {
      connections += 1;
      ws.once('message', () => ws.close(code, reason));
    });
    const { port } = wss.address() as { port: number };
    const client = createRidematchClient({ url: `http://127.0.0.1:${port}/graphql`, token: 'any' });
    // The offers feed wants its socket for good: only the close code decides whether it comes back.
    let failure: unknown = 'no error';
    client.driverOffers({ next: () => {}, error: (e) => (failure = e) });
    await sleep(3_000); // longer than the first backoffs
    try {
      await client.close();
    } catch {
      // closing a socket that is mid-retry rejects with its last close event: expected here
    }
    await new Promise((r) => wss.close(r));
    return { failure, connections };
  };
  const protocol = await attemptsAfter(4400, 'Invalid message received');
  expect(protocol.failure).toBeInstanceOf(ConnectionClosedError);
  expect(protocol.failure).toMatchObject({ closeCode: 4400 });
  expect(protocol.connections).toBe(1);
  const restart = await attemptsAfter(1001, 'going away');
  expect(restart.connections).toBeGreaterThan(1);
});
