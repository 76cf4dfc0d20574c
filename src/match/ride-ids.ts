// Ride ids are UUIDs; anything else is refused before it reaches Postgres or Redis.
import { badInput } from '../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validateRideId(rideId: string, field = 'rideId'): void {
  if (!UUID.test(rideId)) throw badInput(field, 'must be a ride id (UUID)');
}
