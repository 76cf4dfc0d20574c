// Issue 10, finding "duplicate rides" (acceptance 3): requestRide with a client key is idempotent
// by a unique constraint. graphql-ws clients re-send operations that were in flight when their
// socket reconnected; here the resend is done by hand, frame by frame, as such a client does.
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { offset, registerDrivers, registerRider, report } from './helpers/fixtures.ts';
import { http } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { MATCH_ROUND_TIMEOUT_MS: '30000' } });
});
afterAll(() => stack?.stop());

const pickup = { lat: 51.5074, lng: -0.1278 };
const REQUEST = `mutation Request($input: RequestRideInput!) { requestRide(input: $input) { id status } }`;
const input = (clientKey?: string) => ({ pickup, dropoff: offset(pickup.lat, pickup.lng, 2), carType: 'ECONOMY', paymentMethod: 'CARD', ...(clientKey ? { clientKey } : {}) });

async function rider() {
  const id = uniqueId('rider');
  await registerRider(stack.services, id);
  return { id, token: await stack.token('rider', id) };
}

/** One graphql-ws connection, raw: connection_init, one subscribe, its answer. */
async function sendOnce(token: string, id: string, variables: unknown): Promise<any> {
  const socket = new WebSocket(stack.wsUrl, 'graphql-transport-ws');
  await new Promise((r) => socket.once('open', r));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  const answer = new Promise<any>((resolve) =>
    socket.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.type === 'connection_ack') socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: REQUEST, variables } }));
      if (m.type === 'next') resolve(m.payload);
    }),
  );
  const payload = await answer;
  socket.close();
  return payload;
}

it('a requestRide re-sent after a reconnect, with its client key, returns the same ride; one row exists', async () => {
  const [d] = await registerDrivers(stack.services, [{ id: uniqueId('idem') }]);
  await report(stack.services, d!, offset(pickup.lat, pickup.lng, 0.2));
  const { id, token } = await rider();
  const key = 'key-0001';
  const first = await sendOnce(token, '1', { input: input(key) });
  const resent = await sendOnce(token, '1', { input: input(key) }); // the same message on a new socket
  expect(first.errors).toBeUndefined();
  expect(resent.data.requestRide.id).toBe(first.data.requestRide.id);
  expect(await stack.services.db.ride.count({ where: { riderId: id } })).toBe(1);
});

it('concurrent requests with one key create one ride and all answer with it', async () => {
  const { id, token } = await rider();
  const answers = await Promise.all(Array.from({ length: 8 }, () => http(stack.httpUrl, REQUEST, { input: input('same-key') }, token)));
  const ids = new Set(answers.map((a) => a.data?.requestRide.id));
  expect(answers.every((a) => !a.errors), JSON.stringify(answers.map((a) => a.errors))).toBe(true);
  expect(ids.size).toBe(1);
  expect(await stack.services.db.ride.count({ where: { riderId: id } })).toBe(1);
});

it('a key belongs to its rider: the same key from another rider is another ride', async () => {
  const a = await rider();
  const b = await rider();
  const ra = await http(stack.httpUrl, REQUEST, { input: input('shared') }, a.token);
  const rb = await http(stack.httpUrl, REQUEST, { input: input('shared') }, b.token);
  expect(ra.data!.requestRide.id).not.toBe(rb.data!.requestRide.id);
});

it('refuses a malformed key, creating nothing', async () => {
  const { id, token } = await rider();
  for (const bad of ['', 'has space', 'x'.repeat(65), 'nul\u0000']) {
    const res = await http(stack.httpUrl, REQUEST, { input: { ...input(), clientKey: bad } }, token);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'clientKey' });
  }
  expect(await stack.services.db.ride.count({ where: { riderId: id } })).toBe(0);
});
