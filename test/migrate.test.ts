// Issue 2, acceptance 4: the offline migration runner (Prisma's layout and bookkeeping) and the
// data model's round trip and constraints through Prisma Client on the migrated database.
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../src/db/client.ts';
import { dropDatabase, ensureDatabase, recreateDatabase } from '../src/db/admin.ts';
import { checksumOf, DEFAULT_MIGRATIONS_DIR, migrate, MigrationError } from '../src/db/migrate.ts';

const scratchUrl = `postgresql://postgres@127.0.0.1:5432/ridematch_migrate_${process.pid}`;
let migrationNames: string[];

async function rows(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT * FROM "_prisma_migrations" ORDER BY migration_name')).rows;
  } finally {
    await client.end();
  }
}


beforeAll(async () => {
  migrationNames = (await readdir(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
});

describe('migration runner', () => {
  beforeAll(async () => {
    await dropDatabase(scratchUrl);
  });
  afterAll(() => dropDatabase(scratchUrl));

  it('creates a missing database', async () => {
    expect(await ensureDatabase(scratchUrl)).toBe(true);
    expect(await ensureDatabase(scratchUrl)).toBe(false);
  });

  it('applies every migration to an empty database and records them as Prisma does', async () => {
    const result = await migrate(scratchUrl);
    expect(result.applied).toEqual(migrationNames);
    const recorded = await rows(scratchUrl);
    expect(recorded.map((r) => r.migration_name)).toEqual(migrationNames);
    for (const r of recorded) {
      const sql = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, r.migration_name, 'migration.sql'));
      expect(r.checksum).toBe(checksumOf(sql));
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.applied_steps_count).toBe(1);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.rolled_back_at).toBeNull();
      expect(r.logs).toBeNull();
    }
  });

  it('does nothing on a second run', async () => {
    const before = await rows(scratchUrl);
    const result = await migrate(scratchUrl);
    expect(result).toEqual({ applied: [], alreadyApplied: migrationNames });
    expect(await rows(scratchUrl)).toEqual(before);
  });

  it('refuses an applied migration that was edited, naming it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'migrations-'));
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const edited = migrationNames[0]!;
    await appendFile(path.join(dir, edited, 'migration.sql'), '\n-- sneaky edit\n');
    const attempt = migrate(scratchUrl, { dir });
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(migrate(scratchUrl, { dir })).rejects.toThrow(new RegExp(`${edited} was changed after it was applied`));
  });

  it('accepts a migration whose only change is CRLF line endings (as Prisma does)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'migrations-'));
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const file = path.join(dir, migrationNames[0]!, 'migration.sql');
    await writeFile(file, (await readFile(file, 'utf8')).replaceAll('\n', '\r\n'));
    await expect(migrate(scratchUrl, { dir })).resolves.toMatchObject({ applied: [] });
  });

  it('rolls back a failing migration and records nothing for it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'migrations-'));
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    await mkdir(path.join(dir, '29990101000000_broken'));
    await writeFile(path.join(dir, '29990101000000_broken', 'migration.sql'), 'CREATE TABLE "Half" (id int);\nSELECT nope FROM nowhere;\n');
    await expect(migrate(scratchUrl, { dir })).rejects.toThrow(/29990101000000_broken failed and was rolled back/);
    expect((await rows(scratchUrl)).map((r) => r.migration_name)).toEqual(migrationNames);
    const client = new pg.Client({ connectionString: scratchUrl });
    await client.connect();
    const half = await client.query(`SELECT to_regclass('"Half"') AS t`);
    await client.end();
    expect(half.rows[0].t).toBeNull();
  });
});

describe('data model through Prisma Client', () => {
  const url = `postgresql://postgres@127.0.0.1:5432/ridematch_model_${process.pid}`;
  let db: Db;
  beforeAll(async () => {
    await recreateDatabase(url);
    await migrate(url);
    ({ db } = createDb(url));
  });
  afterAll(async () => {
    await db?.$disconnect();
    await dropDatabase(url);
  });

  const ride = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    riderId: 'r-1',
    pickupLat: 12.97,
    pickupLng: 77.59,
    dropoffLat: 12.93,
    dropoffLng: 77.62,
    carType: 'COMFORT' as const,
    paymentMethod: 'CARD' as const,
    minDriverRating: 4.5,
    nextCheckAt: new Date(),
    ...extra,
  });

  it('round-trips every model', async () => {
    await db.driver.create({ data: { id: 'd-1', name: 'Asha', carType: 'COMFORT', paymentPreference: 'ANY', rating: 4.9, vehicle: 'Swift' } });
    await db.driver.create({ data: { id: 'd-2', name: 'Ben', carType: 'XL', paymentPreference: 'CASH', rating: 4.1, vehicle: 'Innova' } });
    await db.rider.create({ data: { id: 'r-1', name: 'Chen' } });
    await db.rider.createMany({ data: ['r-2', 'r-3', 'r-4', 'r-5', 'r-6', 'r-7'].map((id) => ({ id, name: id })) });
    const rideId = randomUUID();
    await db.ride.create({ data: ride(rideId) });
    const expiresAt = new Date(Date.now() + 15_000);
    await db.rideOffer.create({ data: { id: randomUUID(), rideId, driverId: 'd-1', round: 1, pickupDistanceKm: 0.8, expiresAt } });
    await db.rideHistory.create({ data: { rideId, type: 'REQUESTED' } });
    await db.ride.update({ where: { id: rideId }, data: { status: 'ASSIGNED', driverId: 'd-1', nextCheckAt: null, version: { increment: 1 } } });

    const back = await db.ride.findUniqueOrThrow({ where: { id: rideId }, include: { rider: true, driver: true, offers: true, history: true } });
    expect(back).toMatchObject({
      status: 'ASSIGNED',
      version: 1,
      carType: 'COMFORT',
      paymentMethod: 'CARD',
      minDriverRating: 4.5,
      rider: { name: 'Chen' },
      driver: { id: 'd-1', paymentPreference: 'ANY', duty: 'AVAILABLE' },
    });
    expect(back.offers).toHaveLength(1);
    expect(back.offers[0]).toMatchObject({ driverId: 'd-1', status: 'OFFERED', round: 1, pickupDistanceKm: 0.8 });
    expect(back.offers[0]!.expiresAt.getTime()).toBe(expiresAt.getTime());
    expect(back.history.map((e) => e.type)).toEqual(['REQUESTED']);
    expect(typeof back.history[0]!.id).toBe('bigint');
  });

  it('lets a driver hold at most one ASSIGNED ride', async () => {
    await db.ride.create({ data: ride(randomUUID(), { riderId: 'r-2', status: 'ASSIGNED', driverId: 'd-2', nextCheckAt: null }) });
    await expect(db.ride.create({ data: ride(randomUUID(), { riderId: 'r-3', status: 'ASSIGNED', driverId: 'd-2', nextCheckAt: null }) })).rejects.toThrow(
      /Ride_one_active_ride_per_driver|Unique constraint/,
    );
    // Finished rides do not count.
    await expect(db.ride.create({ data: ride(randomUUID(), { riderId: 'r-3', status: 'COMPLETED', driverId: 'd-2', nextCheckAt: null }) })).resolves.toBeTruthy();
  });

  it('lets a rider hold at most one live ride, and one ride per client key (issue 9 acceptance 2, issue 10 acceptance 3)', async () => {
    await db.ride.create({ data: ride(randomUUID(), { riderId: 'r-5', requestKey: 'k1' }) });
    await expect(db.ride.create({ data: ride(randomUUID(), { riderId: 'r-5' }) })).rejects.toThrow();
    await expect(db.ride.create({ data: ride(randomUUID(), { riderId: 'r-5', status: 'ASSIGNED', driverId: 'd-1', nextCheckAt: null }) })).rejects.toThrow();
    // Ended rides do not count; a key is the rider's own and used once.
    await expect(db.ride.create({ data: ride(randomUUID(), { riderId: 'r-5', status: 'CANCELLED', nextCheckAt: null }) })).resolves.toBeTruthy();
    await expect(db.ride.create({ data: ride(randomUUID(), { riderId: 'r-5', status: 'CANCELLED', nextCheckAt: null, requestKey: 'k1' }) })).rejects.toThrow();
    await expect(db.ride.create({ data: ride(randomUUID(), { riderId: 'r-6', requestKey: 'k1' }) })).resolves.toBeTruthy();
  });

  it('lets a ride have at most one accepted offer and one offer per driver', async () => {
    const rideId = randomUUID();
    await db.ride.create({ data: ride(rideId, { riderId: 'r-4' }) });
    const offer = (driverId: string, status: 'OFFERED' | 'ACCEPTED') => ({
      id: randomUUID(), rideId, driverId, round: 1, pickupDistanceKm: 1, expiresAt: new Date(), status,
    });
    await db.rideOffer.create({ data: offer('d-1', 'ACCEPTED') });
    await expect(db.rideOffer.create({ data: offer('d-2', 'ACCEPTED') })).rejects.toThrow();
    await expect(db.rideOffer.create({ data: offer('d-1', 'OFFERED') })).rejects.toThrow();
  });

  it('refuses an ASSIGNED ride without a driver and a SEARCHING ride without a next check', async () => {
    await expect(db.ride.create({ data: ride(randomUUID(), { riderId: 'r-7', status: 'ASSIGNED', nextCheckAt: null }) })).rejects.toThrow();
    await expect(db.ride.create({ data: ride(randomUUID(), { riderId: 'r-7', nextCheckAt: null }) })).rejects.toThrow();
  });
});
