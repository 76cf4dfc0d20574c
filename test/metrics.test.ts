// Operate it, acceptance 4: /metrics in Prometheus format, refused without the token (or only on
// its own port), and the figures of one ride moving by exactly what the ride did: requested over
// HTTP, offered, declined by one driver, accepted by another and completed over graphql-ws, one
// location update out of order and one rejected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, scrape, type Scrape } from '../src/sim/scrape.ts';
import { connectDriver, REQUEST, UPDATE_LOCATION, type DriverApp } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider } from './helpers/fixtures.ts';
import { eventually, http } from './helpers/graphql.ts';
import { startStack, uniqueId, type Instance, type Stack } from './helpers/stack.ts';

const TOKEN = 'metrics-token-0123456789';

let stack: Stack;
/** Its own metrics port, no token, and a location limit of one update. */
let portInstance: Instance;
let metricsUrl: string;

beforeAll(async () => {
  stack = await startStack({ env: { METRICS_TOKEN: TOKEN, MATCH_BATCH_SIZE: '5', MATCH_MAX_ROUNDS: '2' } });
  metricsUrl = stack.httpUrl.replace('/graphql', '/metrics');
  portInstance = await stack.startInstance({ METRICS_TOKEN: '', METRICS_PORT: '0', LOCATION_BURST: '1', LOCATION_RATE_PER_S: '0.001' });
});
afterAll(() => stack?.stop());

const get = (url: string, authorization?: string) => fetch(url, { headers: authorization ? { authorization } : {} });

describe('who may read /metrics', () => {
  it('on the public port, only with the bearer token', async () => {
    expect((await get(metricsUrl)).status).toBe(401);
    expect((await get(metricsUrl, `Bearer ${TOKEN}x`)).status).toBe(401);
    expect((await get(metricsUrl, TOKEN)).status).toBe(401);
    const ok = await get(metricsUrl, `Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = parseMetrics(await ok.text());
    expect(body.has('ridematch_rides_total')).toBe(true);
    expect(body.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('with METRICS_PORT, on that port only', async () => {
    expect(portInstance.server.metricsPort).toEqual(expect.any(Number));
    expect(portInstance.server.metricsPort).not.toBe(portInstance.server.port);
    expect((await get(portInstance.httpUrl.replace('/graphql', '/metrics'))).status).toBe(404);
    expect((await get(portInstance.httpUrl.replace('/graphql', '/metrics'), `Bearer ${TOKEN}`)).status).toBe(404);
    const own = await get(`http://127.0.0.1:${portInstance.server.metricsPort}/metrics`);
    expect(own.status).toBe(200);
    expect(parseMetrics(await own.text()).has('ridematch_open_sockets')).toBe(true);
    expect((await get(`http://127.0.0.1:${portInstance.server.metricsPort}/graphql`)).status).toBe(404);
  });
});

/** What moved between two scrapes. */
const delta = (before: Scrape, after: Scrape) => (name: string, labels: Record<string, string> = {}) =>
  after.value(name, labels) - before.value(name, labels);

describe('one ride, scraped before and after', () => {
  const pickup = { lat: 48.8566, lng: 2.3522 };
  let drivers: DriverApp[];

  beforeAll(async () => {
    const profiles = await registerDrivers(stack.services, [{ id: uniqueId('m') }, { id: uniqueId('m') }, { id: uniqueId('m') }]);
    drivers = await Promise.all(profiles.map((p) => connectDriver(stack, stack.wsUrl, p)));
  });
  afterAll(() => Promise.all(drivers.map((d) => d.close())));

  it('moves each figure by what the ride did', async () => {
    const before = await scrape(metricsUrl, TOKEN);
    const [winner, loser, decliner] = drivers as [DriverApp, DriverApp, DriverApp];
    await winner.report(offset(pickup.lat, pickup.lng, 0.2));
    await loser.report(offset(pickup.lat, pickup.lng, 0.4));
    await decliner.report(offset(pickup.lat, pickup.lng, 0.6));
    // A report older than the last one changes nothing (out of order).
    const late = await winner.ws.request(UPDATE_LOCATION, { input: { ...offset(pickup.lat, pickup.lng, 0.3), recordedAt: new Date(Date.now() - 3_000).toISOString() } });
    expect(late.errors).toBeUndefined();
    const invalid = await winner.ws.request(UPDATE_LOCATION, { input: { lat: 91, lng: 2.35, recordedAt: new Date().toISOString() } });
    expect(invalid.errors?.[0]?.extensions?.code).toBe('INVALID_LOCATION');

    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const riderToken = await stack.token('rider', riderId);
    const input = { pickup, dropoff: offset(pickup.lat, pickup.lng, 3), carType: 'ECONOMY', paymentMethod: 'CASH' };
    const ride = (await http(stack.httpUrl, REQUEST, { input }, riderToken)).data!.requestRide;
    expect(ride).toMatchObject({ status: 'SEARCHING', round: 1 });
    await Promise.all(drivers.map((d) => d.nextEvent('RideOffer')));
    expect(await decliner.decline(ride.id)).toMatchObject({ __typename: 'OfferDeclined' });
    expect(await winner.accept(ride.id)).toMatchObject({ __typename: 'RideAssignment' });
    expect((await loser.nextEvent('RideOfferRevoked')).reason).toBe('TAKEN');
    for (const step of ['arrivedAtPickup', 'startTrip']) {
      expect((await winner.ws.request(`mutation($id: ID!) { ${step}(rideId: $id) { status } }`, { id: ride.id })).errors).toBeUndefined();
    }
    const done = await winner.ws.request(`mutation($id: ID!) { completeRide(rideId: $id) { status } }`, { id: ride.id });
    expect(done.data?.completeRide.status).toBe('COMPLETED');

    // A second ride, where nobody drives: it ends at once, without a first offer.
    const lonelyRider = uniqueId('rider');
    await registerRider(stack.services, lonelyRider);
    const far = { ...input, pickup: { lat: -45.87, lng: 170.5 }, dropoff: { lat: -45.86, lng: 170.51 } };
    expect((await http(stack.httpUrl, REQUEST, { input: far }, await stack.token('rider', lonelyRider))).data!.requestRide.status).toBe('NO_DRIVERS_AVAILABLE');

    const after = await scrape(metricsUrl, TOKEN);
    const moved = delta(before, after);
    expect(moved('ridematch_rides_requested_total')).toBe(2);
    expect(moved('ridematch_rides_total', { outcome: 'assigned' })).toBe(1);
    expect(moved('ridematch_rides_total', { outcome: 'completed' })).toBe(1);
    expect(moved('ridematch_rides_total', { outcome: 'no_drivers_available' })).toBe(1);
    expect(moved('ridematch_rides_total', { outcome: 'cancelled_by_rider' })).toBe(0);
    expect(moved('ridematch_offers_sent_total')).toBe(3);
    expect(moved('ridematch_offers_total', { outcome: 'accepted' })).toBe(1);
    expect(moved('ridematch_offers_total', { outcome: 'revoked' })).toBe(1);
    expect(moved('ridematch_offers_total', { outcome: 'declined' })).toBe(1);
    expect(moved('ridematch_offers_total', { outcome: 'expired' })).toBe(0);
    expect(moved('ridematch_time_to_first_offer_seconds_count')).toBe(1);
    expect(moved('ridematch_time_to_assignment_seconds_count')).toBe(1);
    expect(moved('ridematch_accept_duration_seconds_count', { result: 'assigned' })).toBe(1);
    expect(moved('ridematch_location_updates_total', { outcome: 'accepted' })).toBe(3);
    expect(moved('ridematch_location_updates_total', { outcome: 'out_of_order' })).toBe(1);
    expect(moved('ridematch_location_updates_total', { outcome: 'invalid' })).toBe(1);
    expect(moved('ridematch_location_ack_duration_seconds_count')).toBe(5);
    expect(moved('ridematch_rate_limited_total')).toBe(0);
    expect(moved('ridematch_bus_publish_failures_total')).toBe(0);
    // Per operation, labelled by root field on both transports.
    expect(moved('graphql_envelop_request_duration_count', { operationType: 'mutation', rootField: 'requestRide' })).toBe(2);
    expect(moved('graphql_envelop_request_duration_count', { operationType: 'mutation', rootField: 'updateDriverLocation' })).toBe(5);
    expect(moved('graphql_envelop_request_duration_count', { operationType: 'mutation', rootField: 'acceptRide' })).toBe(1);
    expect(moved('graphql_envelop_error_result', { rootField: 'updateDriverLocation', phase: 'execute', code: 'INVALID_LOCATION' })).toBe(1);
    // The time to first offer is the request's own: shorter than the whole HTTP call cannot be checked, but it is there.
    expect(after.value('ridematch_time_to_first_offer_seconds_sum')).toBeGreaterThan(before.value('ridematch_time_to_first_offer_seconds_sum'));

    // Gauges: the three drivers' sockets and offers feeds, every shard up, nobody waiting for Postgres.
    expect(after.value('ridematch_open_sockets')).toBe(3);
    expect(after.value('ridematch_open_subscriptions')).toBe(3);
    for (const shard of ['s1', 's2', 's3']) expect(after.value('ridematch_shard_up', { shard })).toBe(1);
    expect(after.value('ridematch_pg_pool_waiting')).toBe(0);
  });

  it('counts a refusal by the location limit, and shows a shard down', async () => {
    const metricsOf = () => scrape(`http://127.0.0.1:${portInstance.server.metricsPort}/metrics`);
    const [profile] = await registerDrivers(stack.services, [{ id: uniqueId('m') }]);
    const driver = await connectDriver(stack, portInstance.wsUrl, profile!);
    try {
      const before = await metricsOf();
      await driver.report(pickup);
      await expect(driver.report(pickup)).rejects.toThrow(/too many location updates/);
      const moved = delta(before, await metricsOf());
      expect(moved('ridematch_location_updates_total', { outcome: 'accepted' })).toBe(1);
      expect(moved('ridematch_location_updates_total', { outcome: 'rate_limited' })).toBe(1);
      expect(moved('ridematch_rate_limited_total', { limit: 'location' })).toBe(1);
      expect(moved('ridematch_rate_limited_total', { limit: 'operations' })).toBe(0);
    } finally {
      await driver.close();
    }
    await stack.shards[1]!.stop();
    await eventually(async () => (await metricsOf()).value('ridematch_shard_up', { shard: 's2' }) === 0 || undefined, 10_000);
    const now = await metricsOf();
    expect(now.value('ridematch_shard_up', { shard: 's1' })).toBe(1);
  });
});
