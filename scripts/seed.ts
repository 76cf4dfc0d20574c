// npm run seed — registers demo drivers and riders (idempotent) and prints tokens to try them.
// Demo city: central Bengaluru. Drivers get positions only when they report (see npm run simulate).
import { signToken } from '../src/auth.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/client.ts';
import { ensureDatabase } from '../src/db/admin.ts';
import { migrate } from '../src/db/migrate.ts';
import { CarType, PaymentPreference } from '../src/generated/prisma/enums.ts';
import { Registry } from '../src/registry/registry.ts';

const DRIVERS = Number(process.env.SEED_DRIVERS ?? 200);
const RIDERS = Number(process.env.SEED_RIDERS ?? 50);
const carTypes = Object.values(CarType);
const payments = Object.values(PaymentPreference);

const config = loadConfig();
await ensureDatabase(config.databaseUrl);
await migrate(config.databaseUrl);
const { db } = createDb(config.databaseUrl);
const registry = new Registry(db);
for (let i = 1; i <= DRIVERS; i++) {
  await registry.upsertDriver({
    id: `d-${i}`,
    name: `Driver ${i}`,
    carType: carTypes[i % carTypes.length]!,
    paymentPreference: payments[i % payments.length]!,
    rating: Math.round((3.5 + ((i * 37) % 15) / 10) * 10) / 10,
    vehicle: `Demo car ${i}`,
  });
}
for (let i = 1; i <= RIDERS; i++) await registry.upsertRider({ id: `r-${i}`, name: `Rider ${i}` });
await db.$disconnect();

console.log(`seeded ${DRIVERS} drivers (d-1..d-${DRIVERS}) and ${RIDERS} riders (r-1..r-${RIDERS})`);
console.log(`admin token:  ${await signToken(config.jwt, { role: 'admin', id: 'admin' })}`);
console.log(`driver d-1:   ${await signToken(config.jwt, { role: 'driver', id: 'd-1' })}`);
console.log(`rider r-1:    ${await signToken(config.jwt, { role: 'rider', id: 'r-1' })}`);
