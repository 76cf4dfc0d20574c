// The bounded sweep that heals "free in Redis while Postgres has them on a trip" (a lost assign,
// a record rebuilt while Postgres was away). Its mirror image, a driver held in Redis for a ride
// Postgres no longer gives them, is healed by the ping path (DriverRecords.ping). Together:
// driver state that disagrees with Postgres is corrected within RECONCILE_INTERVAL_MS plus one
// ping interval (README "Reconciliation").
import type { Logger } from '../logger.ts';
import type { DriverRecords } from './driver-records.ts';

const PAGE = 1_000;

export class DriverReconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly records: DriverRecords,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.once()
        .then(() => {})
        .catch((err) => this.log.warn({ err }, 'driver reconciliation failed'))
        .finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One pass over every ride on a trip; returns how many driver records it corrected. */
  async once(): Promise<number> {
    let corrected = 0;
    let after: string | undefined;
    for (;;) {
      const page = await this.records.reconcileAssigned({ limit: PAGE, after });
      corrected += page.corrected;
      if (page.checked < PAGE || !page.last) break;
      after = page.last;
    }
    if (corrected > 0) this.log.info({ corrected }, 'driver records put back ON_RIDE');
    return corrected;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
