// Issue 9, acceptance 10: names and ids refuse control and text-direction characters and
// over-long strings, naming the field; DateTime needs an offset; every variable that does not
// coerce is BAD_USER_INPUT. Nothing is written in any of these cases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPDATE_LOCATION } from './helpers/actors.ts';
import { registerDrivers } from './helpers/fixtures.ts';
import { http, wsConnect } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
let admin: string;
beforeAll(async () => {
  stack = await startStack();
  admin = await stack.token('admin', 'ops');
});
afterAll(() => stack?.stop());

const UPSERT = 'mutation($input: UpsertDriverInput!) { upsertDriver(input: $input) { id } }';
const driver = (over: Record<string, unknown>) => ({ id: uniqueId('in'), name: 'Asha', carType: 'ECONOMY', paymentPreference: 'ANY', rating: 4.5, vehicle: 'Swift', ...over });

describe('text fields', () => {
  it.each([
    ['name', 'NUL', 'As\u0000ha'],
    ['name', 'a C0 control (ESC)', 'As\u001bha'],
    ['name', 'a bidi override', 'Asha\u202Egnp.exe'],
    ['name', 'a bidi isolate', '\u2067Asha'],
    ['vehicle', 'DEL', 'Swift\u007f'],
    ['name', 'too long', 'x'.repeat(101)],
    ['id', 'NUL', 'd\u0000'],
    ['id', 'too long', 'd'.repeat(65)],
  ])('%s with %s: BAD_USER_INPUT naming the field, nothing written', async (field, _what, value) => {
    const input = driver({ [field]: value });
    const res = await http(stack.httpUrl, UPSERT, { input }, admin);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    // (An id with NUL cannot even be looked up: Postgres refuses NUL in text.)
    if (!String(input.id).includes('\u0000')) expect(await stack.services.db.driver.count({ where: { id: String(input.id) } })).toBe(0);
  });

  it('a rider name with NUL, written inline, is refused too (not a 500)', async () => {
    const res = await http(stack.httpUrl, `mutation { upsertRider(input: { id: "r-nul", name: "A\\u0000B" }) { id } }`, {}, admin);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
  });
});

describe('DateTime', () => {
  it.each([
    ['no offset', '2026-12-02T10:00:00'],
    ['a date only', '2026-12-02'],
    ['not a time', 'yesterday'],
  ])('recordedAt with %s is BAD_USER_INPUT, over HTTP and WS', async (_what, recordedAt) => {
    const [d] = await registerDrivers(stack.services, [{ id: uniqueId('dt') }]);
    const token = await stack.token('driver', d!.id);
    const vars = { input: { lat: 1, lng: 1, recordedAt } };
    expect((await http(stack.httpUrl, UPDATE_LOCATION, vars, token)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const ws = wsConnect(stack.wsUrl, token);
    await ws.connected;
    expect((await ws.request(UPDATE_LOCATION, vars)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await ws.request(`mutation { updateDriverLocation(input: { lat: 1, lng: 1, recordedAt: "${recordedAt}" }) { outOfOrder } }`)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await ws.close();
  });

  it('accepts an explicit offset', async () => {
    const [d] = await registerDrivers(stack.services, [{ id: uniqueId('dt') }]);
    const now = new Date();
    const local = new Date(now.getTime() + 5.5 * 3_600_000).toISOString().replace('Z', '+05:30');
    const res = await http(stack.httpUrl, UPDATE_LOCATION, { input: { lat: 1, lng: 1, recordedAt: local } }, await stack.token('driver', d!.id));
    expect(res.errors).toBeUndefined();
  });
});

describe('variables that do not coerce', () => {
  it.each([
    ['an unknown enum value', { input: driver({ carType: 'SPACESHIP' }) }],
    ['a string for a Float', { input: driver({ rating: 'five' }) }],
    ['a missing required field', { input: { id: 'x', name: 'n' } }],
    ['an unknown field', { input: driver({ color: 'red' }) }],
    ['null for a required input', { input: null }],
  ])('%s: BAD_USER_INPUT, over HTTP and WS', async (_what, variables) => {
    const res = await http(stack.httpUrl, UPSERT, variables, admin);
    expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res.errors)).toBe('BAD_USER_INPUT');
    const ws = wsConnect(stack.wsUrl, admin);
    await ws.connected;
    expect((await ws.request(UPSERT, variables)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await ws.close();
  });
});
