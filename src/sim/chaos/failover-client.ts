// One simulated app's connection: the SDK client on one API instance, moved to the other instance
// when its socket drops abnormally (as a load balancer would send a reconnect elsewhere), and back
// to its home instance once that serves again. Calls are measured attempt by attempt (CallLog) and
// retried while the failure is transient: every mutation the load sends is idempotent (ride
// requests carry a client key), so a resend after a lost answer is safe, which is what is tested.
import { createRidematchClient, RidematchError, type Handler, type RidematchClient } from '../../sdk/node.ts';
import type { CallLog } from './call-log.ts';
import type { Endpoints } from './cluster.ts';

/** Answers that retrying cannot change. Anything else (RETRYABLE, SERVICE_UNAVAILABLE, a masked internal error, a lost connection) is tried again. */
const FINAL_CODES = new Set([
  'BAD_USER_INPUT',
  'INVALID_LOCATION',
  'FORBIDDEN',
  'NOT_FOUND',
  'INVALID_STATE',
  'ACTIVE_RIDE_EXISTS',
  'UNAUTHENTICATED',
  'NOT_REGISTERED',
]);

/** The instance under an attempt went away; the attempt's answer (if any) is lost. */
class ConnectionLost extends Error {
  override name = 'ConnectionLost';
}

/** The load is over: calls are no longer retried. */
export class Stopped extends Error {
  override name = 'Stopped';
}

export function errorCode(err: unknown): string {
  if (err instanceof RidematchError) return err.code ?? 'UNKNOWN';
  if (err instanceof ConnectionLost) return 'CONNECTION_LOST';
  return 'NETWORK';
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const backoffMs = (attempt: number) => Math.min(1_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);

interface Subscription {
  start(client: RidematchClient): () => void;
  stop: () => void;
}

export class FailoverClient {
  private client!: RidematchClient;
  private current = -1;
  /** Rejects when the current client is replaced: its attempts in flight will never answer. */
  private lost!: Promise<never>;
  private retire: (err: Error) => void = () => {};
  private inFlight = 0;
  private readonly subscriptions = new Set<Subscription>();
  private stopped = false;

  constructor(
    private readonly endpoints: Endpoints,
    private readonly token: string,
    /** The instance this app connects to when it can. */
    private home: number,
    private readonly log: CallLog,
  ) {
    this.connect(home);
  }

  get instance(): number {
    return this.current;
  }

  /** Makes `instance` this app's home, and goes there now if nothing is in flight. */
  prefer(instance: number): void {
    this.home = instance;
    this.goHome();
  }

  /** Back to the home instance when it serves again (between calls, so nothing is cut). */
  goHome(): void {
    if (this.current !== this.home && this.inFlight === 0 && this.endpoints.isUp(this.home)) this.connect(this.home);
  }

  private connect(instance: number): void {
    const previous = this.client;
    const retirePrevious = this.retire;
    const client = createRidematchClient({ url: this.endpoints.url(instance), token: this.token });
    this.lost = new Promise<never>((_, reject) => (this.retire = reject));
    this.lost.catch(() => {});
    client.socket.on('closed', (event) => {
      // 1000 is the SDK's own close of an idle socket; every other close means the instance is
      // gone (killed, restarting, or refusing the connection).
      if (this.client === client && !this.stopped && (event as { code?: number }).code !== 1000) this.failover();
    });
    this.client = client;
    this.current = instance;
    // The new subscriptions start before the old ones stop: each re-reads the current state first.
    for (const s of this.subscriptions) {
      const stopOld = s.stop;
      s.stop = s.start(client);
      stopOld();
    }
    if (previous) {
      retirePrevious(new ConnectionLost('moved to another instance'));
      void Promise.resolve(previous.close()).catch(() => {});
    }
  }

  private failover(): void {
    const others = Array.from({ length: this.endpoints.count }, (_, i) => i).filter((i) => i !== this.current);
    this.connect(others.find((i) => this.endpoints.isUp(i)) ?? others[0]!);
  }

  /**
   * One SDK call, measured per attempt, retried after transient failures until it gets an
   * answer (or the load stops). `retry: false` for calls that the next one supersedes.
   */
  async call<T>(op: string, fn: (client: RidematchClient) => Promise<T>, opts: { retry?: boolean } = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new Stopped();
      const instance = this.current;
      const started = performance.now();
      this.inFlight += 1;
      try {
        const pending = fn(this.client);
        pending.catch(() => {}); // a retired client's attempt may fail later, unobserved
        const result = await Promise.race([pending, this.lost]);
        this.log.record(op, performance.now() - started, null, instance);
        return result;
      } catch (err) {
        const code = errorCode(err);
        this.log.record(op, performance.now() - started, code, instance, messageOf(err));
        if (FINAL_CODES.has(code) || opts.retry === false) throw err;
      } finally {
        this.inFlight -= 1;
      }
      await sleep(backoffMs(attempt));
    }
  }

  /**
   * A subscription that follows the app across instances and starts again after an error (a
   * subscription refused while Postgres is down, say). Returns the function that ends it.
   */
  subscribe<T>(op: string, open: (client: RidematchClient, handler: Handler<T>) => () => void, next: (value: T) => void): () => void {
    let generation = 0;
    const subscription: Subscription = {
      start: (client) => {
        const mine = ++generation;
        return open(client, {
          next,
          error: (err) => {
            if (mine !== generation || this.stopped || !this.subscriptions.has(subscription)) return;
            this.log.failure(op, errorCode(err), messageOf(err));
            generation += 1; // this one is over; a second error of it is not another restart
            void sleep(500).then(() => {
              if (this.stopped || !this.subscriptions.has(subscription)) return;
              const stopOld = subscription.stop;
              subscription.stop = subscription.start(this.client);
              stopOld();
            });
          },
        });
      },
      stop: () => {},
    };
    this.subscriptions.add(subscription);
    subscription.stop = subscription.start(this.client);
    return () => {
      this.subscriptions.delete(subscription);
      subscription.stop();
    };
  }

  /** Ends every retry and subscription and closes the socket. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const s of this.subscriptions) s.stop();
    this.subscriptions.clear();
    this.retire(new Stopped());
    // dispose() waits for a connection attempt under way: bounded, so a frozen instance cannot hold us.
    await Promise.race([Promise.resolve(this.client.close()).catch(() => {}), sleep(1_000)]);
  }
}
