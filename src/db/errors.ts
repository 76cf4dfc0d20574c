// Recognising what Postgres refused, whichever layer (Prisma, the pg adapter) reported it.

/** A unique constraint (or unique index) refused the write: SQLSTATE 23505. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string; originalCode?: string } };
  return (
    e?.code === 'P2002' || e?.cause?.code === '23505' || e?.cause?.originalCode === '23505' || /23505|unique constraint/i.test(e?.message ?? '')
  );
}
