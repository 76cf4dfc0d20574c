// Why regions are H3 resolution 4: npx tsx bench/region-resolution.ts
// For each candidate resolution: how often a search touches more than one region (extra shard
// queries), and how evenly one metro area spreads over 3 shards (hot spots).
import { ShardRouter } from '../src/redis/shard-router.ts';
import { regionOf, regionsWithin } from '../src/geo/cells.ts';
import { regionRoute } from '../src/redis/keys.ts';

const METROS = [
  { name: 'Bengaluru', lat: 12.9716, lng: 77.5946 },
  { name: 'New York', lat: 40.7128, lng: -74.006 },
  { name: 'São Paulo', lat: -23.5505, lng: -46.6333 },
  { name: 'London', lat: 51.5072, lng: -0.1276 },
  { name: 'Jakarta', lat: -6.2088, lng: 106.8456 },
  { name: 'Lagos', lat: 6.5244, lng: 3.3792 },
  { name: 'Mexico City', lat: 19.4326, lng: -99.1332 },
  { name: 'Tokyo', lat: 35.6762, lng: 139.6503 },
];
const SIDE_KM = 50;
const SAMPLES = 20_000;
const router = new ShardRouter(
  ['s1', 's2', 's3'].map((name) => ({ name, url: 'redis://127.0.0.1:1' })),
  { healthIntervalMs: 1_000, downAfterMisses: 3,
  upAfterSuccesses: 3, commandTimeoutMs: 100, readWindowMs: 0 },
);
let seed = 1;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

console.log('| resolution | regions per 50×50 km metro | searches touching >1 region (1 km / 5 km) | regions per search (1 km / 5 km) | busiest shard\'s share of a metro, mean / worst (3 shards; even = 33%) |');
console.log('| --- | --- | --- | --- | --- |');
for (const res of [3, 4, 5, 6]) {
  let regions = 0;
  let multi1 = 0;
  let multi5 = 0;
  let worstShare = 0;
  let shareSum = 0;
  let regions1 = 0;
  let regions5 = 0;
  for (const m of METROS) {
    const perShard = new Map<string, number>();
    const seen = new Set<string>();
    for (let i = 0; i < SAMPLES / METROS.length; i++) {
      const lat = m.lat + ((random() - 0.5) * SIDE_KM) / 110.574;
      const lng = m.lng + ((random() - 0.5) * SIDE_KM) / (111.32 * Math.cos((m.lat * Math.PI) / 180));
      const region = regionOf(lat, lng, res);
      seen.add(region);
      const shard = router.ranked(regionRoute(region))[0]!.name;
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
      const r1 = regionsWithin(lat, lng, 1, res).length;
      const r5 = regionsWithin(lat, lng, 5, res).length;
      regions1 += r1;
      regions5 += r5;
      if (r1 > 1) multi1++;
      if (r5 > 1) multi5++;
    }
    regions += seen.size;
    const share = Math.max(...perShard.values()) / (SAMPLES / METROS.length);
    worstShare = Math.max(worstShare, share);
    shareSum += share;
  }
  const pct = (n: number) => `${((100 * n) / SAMPLES).toFixed(0)}%`;
  const avg = (n: number) => (n / SAMPLES).toFixed(2);
  console.log(
    `| ${res} | ${(regions / METROS.length).toFixed(1)} | ${pct(multi1)} / ${pct(multi5)} | ${avg(regions1)} / ${avg(regions5)} | ` +
      `${((100 * shareSum) / METROS.length).toFixed(0)}% / ${(worstShare * 100).toFixed(0)}% |`,
  );
}
process.exit(0);
