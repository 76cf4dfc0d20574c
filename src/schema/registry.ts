// Drivers and riders: the admin registry (upsertDriver, upsertRider) and `me`.
import { DomainError } from '../errors.ts';
import { CarType, DriverDuty, PaymentPreference } from '../generated/prisma/enums.ts';
import { validateId, type DriverProfile, type RiderProfile } from '../registry/registry.ts';
import { audited, requireRole } from './access.ts';
import { builder } from './builder.ts';

// Values are keyed by the Prisma enums, so a new value cannot come without its description.
export const CarTypeEnum = builder.enumType('CarType', {
  description: 'The class of car. A ride is offered only to drivers of exactly the class it asks for.',
  values: {
    ECONOMY: { description: 'An everyday car.' },
    COMFORT: { description: 'A roomier, newer car.' },
    PREMIUM: { description: 'A top-class car.' },
    XL: { description: 'A large car for groups or luggage.' },
  } satisfies Record<CarType, { description: string }>,
});
export const PaymentPreferenceEnum = builder.enumType('PaymentPreference', {
  description: 'Which payment methods a driver accepts.',
  values: {
    CASH: { description: 'Cash only: offered CASH rides.' },
    CARD: { description: 'Card only: offered CARD rides.' },
    ANY: { description: 'Either: offered every ride.' },
  } satisfies Record<PaymentPreference, { description: string }>,
});
export const DriverStatusEnum = builder.enumType('DriverStatus', {
  description: 'Whether a driver wants rides (setDriverStatus).',
  values: {
    AVAILABLE: { description: 'Searchable while reporting locations.' },
    OFFLINE: { description: 'Out of search: never offered rides.' },
  } satisfies Record<DriverDuty, { description: string }>,
});

export const DriverRef = builder.objectRef<DriverProfile>('Driver').implement({
  description: 'A registered driver.',
  fields: (t) => ({
    id: t.exposeID('id', { description: "The driver's id (the `sub` of their tokens)." }),
    name: t.exposeString('name', { description: 'The name riders see.' }),
    carType: t.field({ type: CarTypeEnum, description: 'The class of car they drive.', resolve: (d) => d.carType }),
    paymentPreference: t.field({ type: PaymentPreferenceEnum, description: 'Which payment methods they accept.', resolve: (d) => d.paymentPreference }),
    rating: t.exposeFloat('rating', { description: 'Their rating, 0 to 5.' }),
    vehicle: t.exposeString('vehicle', { description: 'The car and its plate, as riders see it.' }),
    status: t.field({ type: DriverStatusEnum, description: 'Whether they want rides now.', resolve: (d) => d.duty }),
    suspendReason: t.exposeString('suspendReason', { nullable: true, description: 'Why an admin suspended the driver; null while active.' }),
  }),
});

export const RiderRef = builder.objectRef<RiderProfile>('Rider').implement({
  description: 'A registered rider.',
  fields: (t) => ({
    id: t.exposeID('id', { description: "The rider's id (the `sub` of their tokens)." }),
    name: t.exposeString('name', { description: 'The name drivers see.' }),
  }),
});

const AdminRef = builder.objectRef<{ id: string }>('Admin').implement({
  description: 'An operator. Admins have no profile beyond their id.',
  fields: (t) => ({ id: t.exposeID('id', { description: "The admin's id (the `sub` of their token)." }) }),
});

const MeUnion = builder.unionType('Me', {
  description: "The caller's profile, by the role in the token.",
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

const ID_RULE = '1-64 letters, digits, _ . : - (starting with a letter or digit)';

const UpsertDriverInput = builder.inputType('UpsertDriverInput', {
  description: "A driver's whole profile: creates the driver, or replaces the profile of an existing one.",
  fields: (t) => ({
    id: t.id({ required: true, description: `The driver's id, as the \`sub\` of their tokens (${ID_RULE}).` }),
    name: t.string({ required: true, description: 'The name riders see (1-100 characters).' }),
    carType: t.field({ type: CarTypeEnum, required: true, description: 'The class of car they drive.' }),
    paymentPreference: t.field({ type: PaymentPreferenceEnum, required: true, description: 'Which payment methods they accept.' }),
    rating: t.float({ required: true, description: '0 to 5.' }),
    vehicle: t.string({ required: true, description: 'The car and its plate (1-100 characters), e.g. "Toyota Prius, KA-01-1234".' }),
  }),
});

const UpsertRiderInput = builder.inputType('UpsertRiderInput', {
  description: "A rider's whole profile: creates the rider, or replaces the profile of an existing one.",
  fields: (t) => ({
    id: t.id({ required: true, description: `The rider's id, as the \`sub\` of their tokens (${ID_RULE}).` }),
    name: t.string({ required: true, description: 'The name drivers see (1-100 characters).' }),
  }),
});

builder.mutationField('upsertDriver', (t) =>
  t.field({
    type: DriverRef,
    description: 'Admin: register a driver or update their profile.',
    args: { input: t.arg({ type: UpsertDriverInput, required: true, description: 'The profile.' }) },
    resolve: (_root, { input }, ctx) => {
      requireRole(ctx, 'admin');
      const id = String(input.id);
      // Before the audit entry reads the current row: Postgres refuses an id with NUL (a 500).
      validateId('id', id);
      return audited(ctx, 'upsertDriver', `driver:${id}`, () => ctx.services.registry.driver(id), () => ctx.services.registry.upsertDriver({ ...input, id }));
    },
  }),
);

builder.mutationField('upsertRider', (t) =>
  t.field({
    type: RiderRef,
    description: 'Admin: register a rider or update their profile.',
    args: { input: t.arg({ type: UpsertRiderInput, required: true, description: 'The profile.' }) },
    resolve: (_root, { input }, ctx) => {
      requireRole(ctx, 'admin');
      const id = String(input.id);
      // Before the audit entry reads the current row: Postgres refuses an id with NUL (a 500).
      validateId('id', id);
      return audited(ctx, 'upsertRider', `rider:${id}`, () => ctx.services.registry.rider(id), () => ctx.services.registry.upsertRider({ ...input, id }));
    },
  }),
);
