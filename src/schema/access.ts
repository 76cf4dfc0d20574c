// Who may call what, for the schema layer: roles and registration from the token, the rate
// limits an operation counts against, and whether a ride is readable (the relation rules
// themselves live in access/ride-access.ts). The caller's id always comes from the token.
import type { Role, Identity } from '../auth.ts';
import { DomainError, notFound } from '../errors.ts';
import type { LimitName } from '../limits/rate-limits.ts';
import type { RideView } from '../match/ride-view.ts';
import type { DriverProfile, RiderProfile } from '../registry/registry.ts';
import type { GraphQLContext } from './builder.ts';

export function requireRole(ctx: GraphQLContext, ...roles: Role[]): Identity {
  if (!ctx.identity) throw new DomainError('UNAUTHENTICATED', 'sign in: send Authorization: Bearer <token>');
  if (!roles.includes(ctx.identity.role)) {
    throw new DomainError('FORBIDDEN', `this operation is for the ${roles.join(' or ')} role`);
  }
  return ctx.identity;
}

export async function requireDriver(ctx: GraphQLContext): Promise<DriverProfile> {
  const { id } = requireRole(ctx, 'driver');
  const driver = await ctx.services.registry.driver(id);
  if (!driver) throw new DomainError('NOT_REGISTERED', `driver ${id} is not registered`);
  return driver;
}

export async function requireRider(ctx: GraphQLContext): Promise<RiderProfile> {
  const { id } = requireRole(ctx, 'rider');
  const rider = await ctx.services.registry.rider(id);
  if (!rider) throw new DomainError('NOT_REGISTERED', `rider ${id} is not registered`);
  return rider;
}

/** Counts one call of a limited field for the caller (each alias counts). */
export function countAgainst(ctx: GraphQLContext, limit: LimitName, key: string): Promise<void> {
  return ctx.services.limits.consume(limit, key);
}

/** The ride, if the caller may read it now; FORBIDDEN otherwise (NOT_FOUND when there is none). */
export async function readableRide(ctx: GraphQLContext, rideId: string): Promise<RideView> {
  const identity = requireRole(ctx, 'rider', 'driver', 'admin');
  const ride = await ctx.services.queries.ride(rideId);
  if (!ride) throw notFound('ride', rideId);
  if (!(await ctx.services.access.relation(identity, ride))) throw new DomainError('FORBIDDEN', 'this ride is not yours');
  return ride;
}

/**
 * An admin change, recorded in the audit log with who, what, before and after. A resolver that
 * validates its arguments first calls requireRole before that: only an admin learns what is wrong
 * with an admin operation's arguments.
 */
export function audited<T>(ctx: GraphQLContext, action: string, target: string, before: () => Promise<unknown>, change: () => Promise<T>): Promise<T> {
  const admin = requireRole(ctx, 'admin');
  return ctx.services.audit.record(admin.id, action, target, before, change);
}
