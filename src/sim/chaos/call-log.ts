// Every SDK call the chaos load makes, one entry per attempt: how long it took and how it failed.
// A retried call is several attempts, each measured on its own (a client waits for each).
import { Samples } from '../stats.ts';

/** A mutation slower than this is an invariant failure: a caller must never hang on a fault. */
export const SLOW_MUTATION_MS = 5_000;

const MUTATIONS = new Set([
  'updateDriverLocation',
  'acceptRide',
  'declineRide',
  'arrivedAtPickup',
  'startTrip',
  'completeRide',
  'requestRide',
  'cancelRide',
  'upsertDriver',
  'upsertRider',
]);

export interface SlowCall {
  op: string;
  ms: number;
  /** Seconds after the run started. */
  at: number;
  /** The instance it went to. */
  instance: number;
  outcome: string;
}

export interface FailedCall {
  op: string;
  code: string;
  /** Seconds after the run started. */
  at: number;
}

export interface OperationSummary {
  op: string;
  attempts: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class CallLog {
  private readonly latencies = new Map<string, Samples>();
  private readonly failedAttempts = new Map<string, number>();
  /** code → count, over every operation. */
  readonly errors = new Map<string, number>();
  /** `op code` → count. */
  readonly errorsByOp = new Map<string, number>();
  /** Every failure in order, to tell which fault it fell in. */
  readonly failures: FailedCall[] = [];
  /** `op code` → the first message seen with it (a masked error's cause is in the API logs). */
  readonly messages = new Map<string, string>();
  readonly slowMutations: SlowCall[] = [];

  constructor(private readonly startedAt: number) {}

  /** One attempt; `code` is null for a success (typed "no" answers such as OfferExpired are successes). */
  record(op: string, ms: number, code: string | null, instance: number, message = ''): void {
    let samples = this.latencies.get(op);
    if (!samples) this.latencies.set(op, (samples = new Samples()));
    samples.add(ms);
    if (code !== null) {
      this.failedAttempts.set(op, (this.failedAttempts.get(op) ?? 0) + 1);
      this.failure(op, code, message);
    }
    if (MUTATIONS.has(op) && ms > SLOW_MUTATION_MS) {
      this.slowMutations.push({ op, ms: Math.round(ms), at: (Date.now() - this.startedAt) / 1000, instance, outcome: code ?? 'ok' });
    }
  }

  /** A failure without a latency of its own (a subscription that ended with an error). */
  failure(op: string, code: string, message = ''): void {
    if (!this.messages.has(`${op} ${code}`)) this.messages.set(`${op} ${code}`, message);
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    this.errorsByOp.set(`${op} ${code}`, (this.errorsByOp.get(`${op} ${code}`) ?? 0) + 1);
    this.failures.push({ op, code, at: (Date.now() - this.startedAt) / 1000 });
  }

  operations(): OperationSummary[] {
    return [...this.latencies].map(([op, s]) => ({
      op,
      attempts: s.count,
      failures: this.failedAttempts.get(op) ?? 0,
      p50Ms: s.percentile(50),
      p99Ms: s.percentile(99),
      maxMs: s.percentile(100),
    }));
  }
}
