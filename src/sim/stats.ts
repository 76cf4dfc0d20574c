// Latency samples and their percentiles, for the simulator's progress line and the benchmark.
export class Samples {
  private values: number[] = [];

  add(value: number): void {
    this.values.push(value);
  }

  get count(): number {
    return this.values.length;
  }

  /** Nearest-rank percentile (p in 0..100); NaN when empty. */
  percentile(p: number): number {
    if (this.values.length === 0) return Number.NaN;
    const sorted = [...this.values].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank]!;
  }

  summary(): { count: number; p50: number; p95: number; p99: number; max: number } {
    return { count: this.count, p50: this.percentile(50), p95: this.percentile(95), p99: this.percentile(99), max: this.percentile(100) };
  }
}

export const fmtSeconds = (ms: number) => (Number.isNaN(ms) ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** Counts events in a sliding one-second window (for "updates/s"). */
export class Rate {
  private stamps: number[] = [];
  hit(now = Date.now()): void {
    this.stamps.push(now);
  }
  perSecond(now = Date.now()): number {
    while (this.stamps.length && this.stamps[0]! < now - 1_000) this.stamps.shift();
    return this.stamps.length;
  }
}
