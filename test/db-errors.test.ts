// What counts as "Postgres unavailable" (SERVICE_UNAVAILABLE to the caller, not a masked internal
// error), read from the errors Prisma really throws. The chaos run found two that were missed:
// a query against a server that cannot be reached (not the first in a pool) and one refused
// while the server shuts down.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createDb } from '../src/db/client.ts';
import { isDatabaseUnavailable } from '../src/db/errors.ts';

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('isDatabaseUnavailable', () => {
  it('recognises what Prisma throws when the database server cannot be reached, for model queries and raw ones', async () => {
    const { db, pool } = createDb(`postgresql://postgres@127.0.0.1:${await closedPort()}/nowhere`, 2);
    try {
      const errors = await Promise.all([
        db.ride.findUnique({ where: { id: '00000000-0000-4000-8000-000000000000' } }).catch((e: unknown) => e),
        db.$queryRaw`SELECT 1`.catch((e: unknown) => e),
        db.$transaction(async (tx) => tx.ride.count()).catch((e: unknown) => e),
      ]);
      for (const err of errors) expect(isDatabaseUnavailable(err), String((err as Error)?.message)).toBe(true);
    } finally {
      await db.$disconnect();
      await pool.end();
    }
  });

  it('recognises a refusal while the server shuts down or starts (SQLSTATE 57P01-03), as the chaos run logged it', () => {
    // Prisma reports it as an unknown request error whose message carries the SQLSTATE.
    const shuttingDown = Object.assign(new Error('\nInvalid `prisma.ride.findUnique()` invocation:\n\nDatabase error. Code: `57P03`. Message: `the database system is shutting down`'), { name: 'PrismaClientUnknownRequestError' });
    expect(isDatabaseUnavailable(shuttingDown)).toBe(true);
  });

  it('does not take a refused statement for an outage', () => {
    const unique = Object.assign(new Error('Unique constraint failed on the fields: (`riderId`)'), { code: 'P2002' });
    expect(isDatabaseUnavailable(unique)).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('Database error. Code: `23505`. Message: `duplicate key`'), {}))).toBe(false);
  });
});
