// (e) Memory per idle driver connection: server RSS before and after N drivers connected with
// their offers feed open (what a driver app holds all day), divided by N; on several fresh
// servers, since one reading spreads far more than RSS noise would suggest: the median, and the
// spread (max - min) that says whether the median means anything.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { topics } from '../src/pubsub.ts';
import type { RidematchClient } from '../src/sdk/node.ts';
import { scrape } from '../src/sim/scrape.ts';
import { clientFor, METRICS_TOKEN } from './lib/fleet.ts';

export interface MemoryServerResult {
  connections: number;
  /** Offers feeds the bus held at the end (should equal connections + the warm-up ones). */
  feedsOpen: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  kibPerConnection: number;
  /** The JS heap in use after a full collection (prom-client's nodejs_heap_size_used_bytes), per connection. */
  heapKibPerConnection: number;
}

export interface MemoryResult {
  servers: MemoryServerResult[];
  connectionsPerServer: number;
  kibPerConnection: number;
  spreadKiB: number;
  /** Median and spread of the servers' heap figures: far steadier than RSS, which follows the allocator. */
  heapKibPerConnection: number;
  heapSpreadKiB: number;
}

export function summariseMemory(servers: MemoryServerResult[]): MemoryResult {
  const medianAndSpread = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return [sorted[Math.floor(sorted.length / 2)]!, sorted.at(-1)! - sorted[0]!] as const;
  };
  const [kibPerConnection, spreadKiB] = medianAndSpread(servers.map((s) => s.kibPerConnection));
  const [heapKibPerConnection, heapSpreadKiB] = medianAndSpread(servers.map((s) => s.heapKibPerConnection));
  return { servers, connectionsPerServer: servers[0]?.connections ?? 0, kibPerConnection, spreadKiB, heapKibPerConnection, heapSpreadKiB };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/**
 * RSS and JS heap in use after a full collection in the server (it runs with --expose-gc;
 * SIGUSR2 collects), median of 3 each.
 */
async function settledMemory(pid: number, url: string): Promise<{ rss: number; heap: number }> {
  const rss: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < 3; i++) {
    process.kill(pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 700));
    rss.push(rssBytes(pid));
    heap.push((await scrape(url.replace(/\/graphql$/, '/metrics'), METRICS_TOKEN)).value('nodejs_heap_size_used_bytes'));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[1]!;
  return { rss: median(rss), heap: median(heap) };
}

/** Connects drivers with their offers feed open and waits until the bus has all their feeds. */
async function connectIdle(opts: { url: string; bus: Redis }, driverIds: string[], alreadyOpen: number): Promise<{ clients: RidematchClient[]; feeds: number }> {
  const clients: RidematchClient[] = [];
  for (let i = 0; i < driverIds.length; i += 200) {
    const batch = await Promise.all(driverIds.slice(i, i + 200).map((id) => clientFor(opts.url, 'driver', id)));
    for (const c of batch) c.driverOffers({ next: () => {} });
    clients.push(...batch);
    await new Promise((r) => setTimeout(r, 100));
  }
  const deadline = Date.now() + 30_000;
  let feeds = 0;
  for (;;) {
    feeds = ((await opts.bus.pubsub('CHANNELS', `${topics.driverOffers('')}*`)) as string[]).length;
    if (feeds >= alreadyOpen + driverIds.length || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { clients, feeds };
}

const WARM_UP_CONNECTIONS = 20;

/** One fresh server: `driverIds` minus the warm-up ones are measured. */
export async function benchMemory(opts: { url: string; pid: number; bus: Redis; driverIds: string[] }): Promise<MemoryServerResult> {
  // A few connections first, so one-time costs (code compiled on first use, caches) stay out.
  const warm = await connectIdle(opts, opts.driverIds.slice(0, WARM_UP_CONNECTIONS), 0);
  const before = await settledMemory(opts.pid, opts.url);
  const { clients, feeds } = await connectIdle(opts, opts.driverIds.slice(WARM_UP_CONNECTIONS), WARM_UP_CONNECTIONS);
  const after = await settledMemory(opts.pid, opts.url);
  await Promise.all([...warm.clients, ...clients].map((c) => c.close()));
  return {
    connections: clients.length,
    feedsOpen: feeds,
    rssBeforeMiB: before.rss / 2 ** 20,
    rssAfterMiB: after.rss / 2 ** 20,
    kibPerConnection: (after.rss - before.rss) / 1024 / clients.length,
    heapKibPerConnection: (after.heap - before.heap) / 1024 / clients.length,
  };
}
