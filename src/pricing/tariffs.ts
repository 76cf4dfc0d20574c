// Tariffs per car type, in Postgres (seeded by the migration, changed by an admin). Read on every
// estimate, so cached per instance for a few seconds; a change made here is seen at once here and
// within the cache time elsewhere.
import type { Db } from '../db/client.ts';
import { badInput, notFound } from '../errors.ts';
import type { CarType } from '../generated/prisma/enums.ts';
import type { Tariff } from './fare.ts';

const CACHE_MS = 5_000;
const MAX_MINOR_UNITS = 100_000_000;

export type TariffInput = Omit<Tariff, 'carType'>;

export class Tariffs {
  private cache: { at: number; byCar: Map<CarType, Tariff> } | null = null;

  constructor(private readonly db: Db) {}

  async all(): Promise<Tariff[]> {
    if (!this.cache || Date.now() - this.cache.at > CACHE_MS) {
      const rows = await this.db.tariff.findMany({ orderBy: { carType: 'asc' } });
      this.cache = { at: Date.now(), byCar: new Map(rows.map((r) => [r.carType, r])) };
    }
    return [...this.cache.byCar.values()];
  }

  async of(carType: CarType): Promise<Tariff> {
    await this.all();
    const tariff = this.cache!.byCar.get(carType);
    if (!tariff) throw badInput('carType', `no tariff for ${carType}`);
    return tariff;
  }

  /** Sets a car type's tariff; returns it before and after (for the audit log). */
  async set(carType: CarType, input: TariffInput, adminId: string): Promise<{ before: Tariff; after: Tariff }> {
    if (!/^[A-Z]{3}$/.test(input.currency)) throw badInput('currency', 'must be an ISO 4217 code such as INR or EUR');
    for (const field of ['baseFare', 'perKm', 'perMinute', 'minimumFare'] as const) {
      const v = input[field];
      if (!Number.isInteger(v) || v < 0 || v > MAX_MINOR_UNITS) throw badInput(field, `must be a whole number of minor units in [0, ${MAX_MINOR_UNITS}]`);
    }
    const before = await this.db.tariff.findUnique({ where: { carType } });
    if (!before) throw notFound('tariff', carType);
    const after = await this.db.tariff.update({ where: { carType }, data: { ...input, updatedBy: adminId, updatedAt: new Date() } });
    this.cache = null;
    return { before, after };
  }
}
