// Where the server's CPU time goes: a V8 .cpuprofile (node --cpu-prof) summarised by self time
// per package (node_modules/<pkg>), our own code (src/...), and V8's buckets (GC, idle, program).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** CLOCK_MONOTONIC in µs: the clock V8 stamps profile samples with, in every process. */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

function bucketOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/(src\/[^?]+)/.exec(url);
  if (src) return src[1]!;
  if (url.startsWith('node:internal/')) return `node:internal/${url.slice(14).split('/')[0]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

/**
 * Share of sampled time per bucket, busiest first (idle excluded from the shares). Only samples
 * inside `window` (monotonicMicros() values taken around the load) count, so start-up is left out.
 */
export function summariseProfile(file: string, window: { from: number; to: number }, top = 12): Array<{ bucket: string; percent: number }> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const time = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window.from || at > window.to) return;
    const bucket = bucketOf(byId.get(id)!);
    time.set(bucket, (time.get(bucket) ?? 0) + delta);
  });
  time.delete('(idle)');
  const total = [...time.values()].reduce((a, b) => a + b, 0);
  return [...time]
    .map(([bucket, t]) => ({ bucket, percent: (100 * t) / total }))
    .sort((a, b) => b.percent - a.percent)
    .slice(0, top);
}
