// npx tsx bench/pubsub-cluster.ts — which event bus for a Redis Cluster deployment: what one
// publish costs as the cluster grows (3, 6, 9 primaries), for
//   - classic PUBLISH on the cluster (each node forwards every message to every other node over
//     the cluster bus, so every node pays for every message);
//   - sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7: a message goes to its channel's slot's node only);
//   - a bus of its own (one Redis primary, as PUBSUB_REDIS_URL=redis+sentinel://… runs it; the
//     same at every cluster size, measured once).
// Each case: SUBSCRIBERS channels (offers:<driver> topics) held by one subscriber client,
// PUBLISHES messages of PAYLOAD bytes at CONCURRENCY in flight, to random channels. Measured:
// delivery latency (publish sent → message received), server CPU per publish summed over every
// node (INFO cpu before/after, less the same nodes' idle CPU over an equal time), and INFO
// commandstats µs per call on the node that took the publish. Writes bench/results/pubsub-<date>.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { startLocalCluster } from '../src/redis/local-cluster.ts';
import { startLocalRedis } from '../src/redis/local-servers.ts';
import { Samples } from '../src/sim/stats.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SETTINGS = {
  sizes: [3, 6, 9],
  subscribers: env('BENCH_PUBSUB_CHANNELS', 1_000),
  publishes: env('BENCH_PUBSUB_PUBLISHES', 20_000),
  concurrency: env('BENCH_PUBSUB_CONCURRENCY', 50),
  payloadBytes: 500,
};
const channels = Array.from({ length: SETTINGS.subscribers }, (_, i) => `offers:bench-${i}`);
const padding = 'x'.repeat(SETTINGS.payloadBytes);

interface Measured {
  bus: string;
  nodes: number;
  perSecond: number;
  latency: { p50: number; p99: number };
  cpuUsPerPublish: number;
  commandUsPerCall: number;
  delivered: number;
}

/** used_cpu_sys + used_cpu_user of each server, in µs. */
async function cpuMicros(servers: Redis[]): Promise<number> {
  const infos = await Promise.all(servers.map((s) => s.info('cpu')));
  return infos.reduce((sum, info) => {
    const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]);
    const user = Number(/used_cpu_user:([\d.]+)/.exec(info)![1]);
    return sum + (sys + user) * 1e6;
  }, 0);
}

async function commandUsec(servers: Redis[], command: string): Promise<{ calls: number; usec: number }> {
  let calls = 0;
  let usec = 0;
  for (const info of await Promise.all(servers.map((s) => s.info('commandstats')))) {
    const m = new RegExp(`cmdstat_${command}:calls=(\\d+),usec=(\\d+)`).exec(info);
    if (m) {
      calls += Number(m[1]);
      usec += Number(m[2]);
    }
  }
  return { calls, usec };
}

/** What the subscriber received: count and delivery latency (the payload starts with its send time). */
class Delivery {
  readonly latency = new Samples();
  count = 0;
  readonly received = (message: string) => {
    this.count += 1;
    this.latency.add(performance.now() - Number(message.slice(0, message.indexOf('|'))));
  };
}

/** PUBLISHES publishes at CONCURRENCY in flight; CPU and commandstats over every server. */
async function load(
  servers: Redis[],
  command: 'publish' | 'spublish',
  delivery: Delivery,
  publish: (channel: string, message: string) => Promise<unknown>,
): Promise<Omit<Measured, 'bus' | 'nodes'>> {
  // The idle cost of these nodes (cluster bus heartbeats) over as long as the load takes is
  // subtracted; measured just before.
  const idleFrom = await cpuMicros(servers);
  const idleStart = performance.now();
  await new Promise((r) => setTimeout(r, 1_000));
  const idlePerMs = ((await cpuMicros(servers)) - idleFrom) / (performance.now() - idleStart);

  await Promise.all(servers.map((s) => s.config('RESETSTAT')));
  const cpuFrom = await cpuMicros(servers);
  const started = performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: SETTINGS.concurrency }, async () => {
      while (sent < SETTINGS.publishes) {
        sent += 1;
        await publish(channels[Math.floor(Math.random() * channels.length)]!, `${performance.now()}|${padding}`);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const deadline = Date.now() + 5_000;
  while (delivery.count < SETTINGS.publishes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const cpu = (await cpuMicros(servers)) - cpuFrom - idlePerMs * (performance.now() - started);
  const stats = await commandUsec(servers, command);
  return {
    perSecond: SETTINGS.publishes / (elapsed / 1000),
    latency: { p50: delivery.latency.percentile(50), p99: delivery.latency.percentile(99) },
    cpuUsPerPublish: cpu / SETTINGS.publishes,
    commandUsPerCall: stats.usec / Math.max(1, stats.calls),
    delivered: delivery.count,
  };
}

/** Classic pub/sub on a cluster: one subscriber on the first node, publishers on every node in turn (as instances would be). */
async function classicOnCluster(size: number): Promise<Measured> {
  const cluster = await startLocalCluster({ primaries: size, replicasPerPrimary: 0 });
  const servers = cluster.nodes.map((n) => new Redis(n.port));
  const subscriber = new Redis(cluster.nodes[0]!.port);
  try {
    const delivery = new Delivery();
    subscriber.on('message', (_channel: string, message: string) => delivery.received(message));
    await subscriber.subscribe(...channels);
    let next = 0;
    const measured = await load(servers, 'publish', delivery, (channel, message) => servers[next++ % servers.length]!.publish(channel, message));
    return { bus: 'classic PUBLISH on the cluster', nodes: size, ...measured };
  } finally {
    subscriber.disconnect();
    for (const s of servers) s.disconnect();
    await cluster.stop();
  }
}

/** Sharded pub/sub: ioredis keeps one subscriber connection per primary and sends each SSUBSCRIBE to its channel's slot. */
async function shardedOnCluster(size: number): Promise<Measured> {
  const cluster = await startLocalCluster({ primaries: size, replicasPerPrimary: 0 });
  const servers = cluster.nodes.map((n) => new Redis(n.port));
  const seeds = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  const subscriber = new Cluster(seeds, { shardedSubscribers: true });
  const publisher = new Cluster(seeds, { enableAutoPipelining: true });
  try {
    const delivery = new Delivery();
    subscriber.on('smessage', (_channel: string, message: string) => delivery.received(message));
    await Promise.all(channels.map((c) => subscriber.ssubscribe(c)));
    const measured = await load(servers, 'spublish', delivery, (channel, message) => publisher.spublish(channel, message));
    return { bus: 'sharded SPUBLISH on the cluster', nodes: size, ...measured };
  } finally {
    subscriber.disconnect();
    publisher.disconnect();
    for (const s of servers) s.disconnect();
    await cluster.stop();
  }
}

/** A bus of its own: one primary (Sentinel-managed in production), whatever the cluster's size. */
async function ownBus(): Promise<Measured> {
  const [server] = await startLocalRedis(1);
  const redis = new Redis(server!.port);
  const subscriber = new Redis(server!.port);
  try {
    const delivery = new Delivery();
    subscriber.on('message', (_channel: string, message: string) => delivery.received(message));
    await subscriber.subscribe(...channels);
    const measured = await load([redis], 'publish', delivery, (channel, message) => redis.publish(channel, message));
    return { bus: 'own bus (one primary, Sentinel-managed)', nodes: 1, ...measured };
  } finally {
    subscriber.disconnect();
    redis.disconnect();
    await server!.stop();
  }
}

const startedAt = Date.now();
const results: Measured[] = [await ownBus()];
for (const size of SETTINGS.sizes) {
  results.push(await classicOnCluster(size));
  results.push(await shardedOnCluster(size));
  console.log(`[pubsub] ${size} nodes done`);
}

const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const date = new Date().toISOString();
const lines = [
  `# Event bus for a Redis Cluster deployment, ${date}`,
  '',
  `\`npx tsx bench/pubsub-cluster.ts\`: ${n(SETTINGS.publishes)} publishes of ${SETTINGS.payloadBytes} bytes, ${SETTINGS.concurrency} in flight, to ${n(SETTINGS.subscribers)} channels held by one subscriber client; clusters of primaries only (a replica would add its own copy of each message in every case). Server CPU is INFO cpu summed over every node, less the same nodes' idle CPU for as long; commandstats is on the node that took the publish. Everything (the Redis nodes and this load generator) shares a 2-core machine with other sessions: compare rows of one run. Whole run ${Math.round((Date.now() - startedAt) / 1000)} s.`,
  '',
  '| bus | nodes | publishes/s | delivery p50 / p99 | server CPU per publish, all nodes | commandstats µs per call | delivered |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...results.map(
    (r) =>
      `| ${r.bus} | ${r.nodes} | ${n(r.perSecond)} | ${n(r.latency.p50, 2)} / ${n(r.latency.p99, 2)} ms | ${n(r.cpuUsPerPublish, 1)} µs | ${n(r.commandUsPerCall, 2)} | ${n(r.delivered)}/${n(SETTINGS.publishes)} |`,
  ),
  '',
  '## Settings',
  '',
  '```json',
  JSON.stringify(SETTINGS, null, 2),
  '```',
  '',
];
const dir = path.resolve(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `pubsub-${date.slice(0, 19).replaceAll(':', '')}.md`);
writeFileSync(file, `${lines.join('\n')}\n`);
console.log(lines.slice(4, 6 + results.length).join('\n'));
console.log(`report written to ${path.relative(process.cwd(), file)}`);
process.exit(0);
