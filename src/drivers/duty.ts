// A driver going on or off duty: Postgres keeps the choice (it survives a lost Redis shard), the
// driver's Redis record makes it effective at once, and an OFFLINE driver leaves search at once.
import type { Services } from '../app.ts';
import type { DriverDuty } from '../generated/prisma/enums.ts';
import { DomainError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DriverProfile } from '../registry/registry.ts';

/** `log`: the logger of the request being served. */
export async function setDriverStatus(services: Services, driverId: string, status: DriverDuty, log: Logger = services.log): Promise<DriverProfile> {
  const current = await services.registry.driver(driverId);
  if (current?.suspendReason && status === 'AVAILABLE') {
    throw new DomainError('FORBIDDEN', `your account is suspended: ${current.suspendReason}`);
  }
  const profile = await services.registry.setDuty(driverId, status);
  await services.locations.setDuty(driverId, status);
  if (status === 'OFFLINE') await services.assignment.driverUnavailable(driverId, log);
  return profile;
}
