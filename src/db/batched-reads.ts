// Reads by key that arrive in the same turn of the event loop go to Postgres as one query.
//
// A city's drivers reconnect together (after a deploy, a network blip), and each driver's start
// reads its profile, its live offers and its dispatch state: thousands of identical one-row
// queries, each paying Prisma's per-query cost and a round trip through the pool. Batched, they
// cost one query per turn (up to MAX_KEYS keys each). A key asked for twice in one turn is read
// once. When nothing else is going on a batch holds one key and waits for nothing (setImmediate
// runs as soon as the current I/O callbacks are done).

const MAX_KEYS = 500;

interface Waiter<V> {
  resolve(value: V): void;
  reject(err: unknown): void;
}

export class BatchedReads<K, V> {
  private pending = new Map<K, Array<Waiter<V>>>();
  private scheduled = false;

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

  private flush(): void {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    const keys = [...batch.keys()];
    for (let i = 0; i < keys.length; i += MAX_KEYS) void this.run(keys.slice(i, i + MAX_KEYS), batch);
  }

  private async run(keys: K[], batch: Map<K, Array<Waiter<V>>>): Promise<void> {
    try {
      const found = await this.readMany(keys);
      for (const key of keys) for (const w of batch.get(key)!) w.resolve(found.has(key) ? found.get(key)! : this.absent);
    } catch (err) {
      for (const key of keys) for (const w of batch.get(key)!) w.reject(err);
    }
  }
}
