// The audit log of every admin change: who, what, when, before and after. The entry is written
// before the change runs (with `after` empty) and completed once it succeeded or failed, so a
// crash in between still leaves the attempt on record.
import type { Db } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';

export interface AuditEntry {
  id: string;
  adminId: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  at: Date;
}

const json = (value: unknown) => (value === undefined || value === null ? Prisma.JsonNull : (JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue));

export class AuditLog {
  constructor(private readonly db: Db) {}

  /** Records the change, runs it, and records its outcome. `before` is read first. */
  async record<T>(adminId: string, action: string, target: string, before: () => Promise<unknown>, change: () => Promise<T>): Promise<T> {
    const entry = await this.db.adminAudit.create({ data: { adminId, action, target, before: json(await before()) } });
    try {
      const result = await change();
      await this.db.adminAudit.update({ where: { id: entry.id }, data: { after: json(result) } });
      return result;
    } catch (err) {
      await this.db.adminAudit.update({ where: { id: entry.id }, data: { after: json({ failed: (err as Error).message }) } }).catch(() => {});
      throw err;
    }
  }

  /** Newest first; `after` is the cursor (an entry id) of the previous page's last entry. */
  async list(opts: { target?: string | null; limit: number; after?: string | null }): Promise<AuditEntry[]> {
    const rows = await this.db.adminAudit.findMany({
      where: { ...(opts.target ? { target: opts.target } : {}), ...(opts.after ? { id: { lt: BigInt(opts.after) } } : {}) },
      orderBy: { id: 'desc' },
      take: opts.limit,
    });
    return rows.map((r) => ({ ...r, id: String(r.id) }));
  }
}
