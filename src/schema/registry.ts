// Drivers and riders: the admin registry (upsertDriver, upsertRider) and `me`.
import { DomainError } from '../errors.ts';
import { CarType, DriverDuty, PaymentPreference } from '../generated/prisma/enums.ts';
import type { DriverProfile, RiderProfile } from '../registry/registry.ts';
import { audited, requireRole } from './access.ts';
import { builder } from './builder.ts';

export const CarTypeEnum = builder.enumType('CarType', { values: Object.values(CarType) });
export const PaymentPreferenceEnum = builder.enumType('PaymentPreference', {
  description: 'Which payment methods a driver accepts.',
  values: Object.values(PaymentPreference),
});
export const DriverStatusEnum = builder.enumType('DriverStatus', {
  description: 'AVAILABLE: searchable while reporting locations. OFFLINE: never offered rides.',
  values: Object.values(DriverDuty),
});

export const DriverRef = builder.objectRef<DriverProfile>('Driver').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    carType: t.field({ type: CarTypeEnum, resolve: (d) => d.carType }),
    paymentPreference: t.field({ type: PaymentPreferenceEnum, resolve: (d) => d.paymentPreference }),
    rating: t.exposeFloat('rating'),
    vehicle: t.exposeString('vehicle'),
    status: t.field({ type: DriverStatusEnum, resolve: (d) => d.duty }),
    suspendReason: t.exposeString('suspendReason', { nullable: true, description: 'Why an admin suspended the driver; null while active.' }),
  }),
});

export const RiderRef = builder.objectRef<RiderProfile>('Rider').implement({
  fields: (t) => ({ id: t.exposeID('id'), name: t.exposeString('name') }),
});

const AdminRef = builder.objectRef<{ id: string }>('Admin').implement({
  fields: (t) => ({ id: t.exposeID('id') }),
});

const MeUnion = builder.unionType('Me', {
  types: [DriverRef, RiderRef, AdminRef],
  resolveType: (value) => ('carType' in value ? DriverRef : 'name' in value ? RiderRef : AdminRef),
});

builder.queryField('me', (t) =>
  t.field({
    type: MeUnion,
    description: "The caller's profile (driver, rider or admin), from the token.",
    resolve: async (_root, _args, ctx) => {
      const { role, id } = requireRole(ctx, 'driver', 'rider', 'admin');
      if (role === 'admin') return { id };
      const profile = role === 'driver' ? await ctx.services.registry.driver(id) : await ctx.services.registry.rider(id);
      if (!profile) throw new DomainError('NOT_REGISTERED', `${role} ${id} is not registered`);
      return profile;
    },
  }),
);

const UpsertDriverInput = builder.inputType('UpsertDriverInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: true }),
    carType: t.field({ type: CarTypeEnum, required: true }),
    paymentPreference: t.field({ type: PaymentPreferenceEnum, required: true }),
    rating: t.float({ required: true, description: '0 to 5' }),
    vehicle: t.string({ required: true, description: 'e.g. "Toyota Prius, KA-01-1234"' }),
  }),
});

const UpsertRiderInput = builder.inputType('UpsertRiderInput', {
  fields: (t) => ({ id: t.id({ required: true }), name: t.string({ required: true }) }),
});

builder.mutationField('upsertDriver', (t) =>
  t.field({
    type: DriverRef,
    description: 'Admin: register a driver or update their profile.',
    args: { input: t.arg({ type: UpsertDriverInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const id = String(input.id);
      return audited(ctx, 'upsertDriver', `driver:${id}`, () => ctx.services.registry.driver(id), () => ctx.services.registry.upsertDriver({ ...input, id }));
    },
  }),
);

builder.mutationField('upsertRider', (t) =>
  t.field({
    type: RiderRef,
    description: 'Admin: register a rider or update their profile.',
    args: { input: t.arg({ type: UpsertRiderInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const id = String(input.id);
      return audited(ctx, 'upsertRider', `rider:${id}`, () => ctx.services.registry.rider(id), () => ctx.services.registry.upsertRider({ ...input, id }));
    },
  }),
);
