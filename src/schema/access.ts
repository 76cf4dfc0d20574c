// Who may call what. The caller's id always comes from the token; these helpers are the only
// place roles and registration are checked.
import type { Role, Identity } from '../auth.ts';
import { DomainError } from '../errors.ts';
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
