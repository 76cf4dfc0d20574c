// Reads by key that arrive in the same turn of the event loop go to Postgres as one query.
//
// A city's drivers reconnect together (after a deploy, a network blip), and each driver's start
// reads its profile, its live offers and its dispatch state: thousands of identical one-row
// queries, each paying Prisma's per-query cost and a round trip through the pool. Here a read
// waits for the end of the current turn (setImmediate), and while a query of this kind is
// already running, until it is back: the keys gathered meanwhile go in one query (up to MAX_KEYS
// each). Idle, a read waits for nothing; under load, batches grow with the time a query takes
// (one query at a time measured best in the reconnect storm: batches twice as large as with two).
// A key asked for again before its query went out is read once.

const MAX_KEYS = 500;
const MAX_IN_FLIGHT = 1;

interface Waiter<V> {
  resolve(value: V): void;
  reject(err: unknown): void;
}

export class BatchedReads<K, V> {
  private readonly pending = new Map<K, Array<Waiter<V>>>();
  private scheduled = false;
  private inFlight = 0;

  constructor(
    /** Reads every key at once; a key missing from the answer gets `absent`. */
    private readonly readMany: (keys: K[]) => Promise<Map<K, V>>,
    private readonly absent: V,
  ) {}

  read(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Sends what is pending, unless a query is out already (it sends the rest when it is back). */
  private flush(): void {
    this.scheduled = false;
    while (this.inFlight < MAX_IN_FLIGHT && this.pending.size > 0) {
      const batch = new Map<K, Array<Waiter<V>>>();
      for (const [key, waiters] of this.pending) {
        if (batch.size === MAX_KEYS) break;
        batch.set(key, waiters);
        this.pending.delete(key);
      }
      void this.run(batch);
    }
  }

  private async run(batch: Map<K, Array<Waiter<V>>>): Promise<void> {
    this.inFlight += 1;
    try {
      const found = await this.readMany([...batch.keys()]);
      for (const [key, waiters] of batch) for (const w of waiters) w.resolve(found.has(key) ? found.get(key)! : this.absent);
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
    } finally {
      this.inFlight -= 1;
      this.flush();
    }
  }
}
