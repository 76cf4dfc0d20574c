// Suspending a driver: never offered a ride from now on (out of search at once, every live offer
// revoked), told on its offers feed, and unable to go AVAILABLE until reinstated. A trip under way
// is left to finish (an operator can force it to an end).
import type { Services } from '../app.ts';
import type { DriverProfile } from '../registry/registry.ts';

export async function suspendDriver(services: Services, driverId: string, reason: string): Promise<{ before: DriverProfile; after: DriverProfile }> {
  const change = await services.registry.setSuspension(driverId, reason);
  // OFFLINE on both sides, so a reinstated driver goes AVAILABLE by their own choice, as ever.
  await services.registry.setDuty(driverId, 'OFFLINE');
  await services.locations.setDuty(driverId, 'OFFLINE');
  await services.assignment.driverUnavailable(driverId);
  await services.events.publishOffer(driverId, { kind: 'account', status: 'SUSPENDED', reason });
  services.log.info({ driverId, reason }, 'driver suspended');
  return { before: change.before, after: { ...change.after, duty: 'OFFLINE' } };
}

/** Reinstated, the driver is free to go AVAILABLE again (their own choice, as ever). */
export async function reinstateDriver(services: Services, driverId: string): Promise<{ before: DriverProfile; after: DriverProfile }> {
  const change = await services.registry.setSuspension(driverId, null);
  await services.events.publishOffer(driverId, { kind: 'account', status: 'ACTIVE', reason: null });
  services.log.info({ driverId }, 'driver reinstated');
  return change;
}
