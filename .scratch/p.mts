import { parse, validate } from 'graphql';
import { schema } from '/work/main/src/schema/index.ts';
for (const n of [2000, 5000, 20000, 100000]) {
  const q = `{ nearbyDrivers(lat: ${'['.repeat(n)}1${']'.repeat(n)}, lng: 1, radiusKm: 1) { driverId } }`;
  try { const d = parse(q); console.log(n, 'parsed'); try { console.log(validate(schema, d).length, 'val errors'); } catch (e) { console.log(n, 'validate', (e as Error).name); } } catch (e) { console.log(n, (e as Error).name, (e as Error).message.slice(0, 80)); }
}
