// Latency with its failures: a failed operation is never dropped from the percentiles. It ranks
// as +infinity (above every success), so a p99 over a run with more than 1% failures is "failed",
// and every percentile is shown beside the failure count.
export interface LatencySummary {
  /** Operations attempted (successes + failures). */
  count: number;
  failures: number;
  /** null: the rank fell on a failed operation (+infinity; JSON has no Infinity). */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  /** The successes' latencies, sorted (for the report's chart). */
  samples: number[];
}

export class Latency {
  private values: number[] = [];
  private failed = 0;

  add(ms: number): void {
    this.values.push(ms);
  }

  fail(): void {
    this.failed += 1;
  }

  get count(): number {
    return this.values.length + this.failed;
  }

  /** Nearest rank over successes + failures, failures ranked last (+infinity). NaN when empty. */
  percentile(p: number): number {
    const total = this.count;
    if (total === 0) return Number.NaN;
    const rank = Math.min(total - 1, Math.max(0, Math.ceil((p / 100) * total) - 1));
    if (rank >= this.values.length) return Number.POSITIVE_INFINITY;
    return this.sorted()[rank]!;
  }

  private cache: number[] | null = null;
  private sorted(): number[] {
    if (!this.cache || this.cache.length !== this.values.length) this.cache = [...this.values].sort((a, b) => a - b);
    return this.cache;
  }

  summary(): LatencySummary {
    const j = (v: number) => (Number.isFinite(v) ? v : Number.isNaN(v) ? null : null);
    return {
      count: this.count,
      failures: this.failed,
      p50: j(this.percentile(50)),
      p95: j(this.percentile(95)),
      p99: j(this.percentile(99)),
      max: j(this.percentile(100)),
      samples: this.sorted().map((v) => Math.round(v * 1000) / 1000),
    };
  }
}

/** A summary's percentile as a number again: null (a failure's rank) is +infinity, no data NaN. */
export function pct(s: LatencySummary, p: 'p50' | 'p95' | 'p99' | 'max'): number {
  if (s.count === 0) return Number.NaN;
  return s[p] ?? Number.POSITIVE_INFINITY;
}
