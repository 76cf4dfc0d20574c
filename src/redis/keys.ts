// Every Redis key name and routing key in one place. Keys carry {hash tags}, so the same scripts
// run unchanged under Redis Cluster (all keys of one script, or of one MULTI, share a tag: a slot).
//
// Routing keys decide the shard (rendezvous over healthy shards, see shard-router.ts); under a
// cluster the key's own slot decides, and a routing key `<kind>:<id>` names the keys tagged
// `{<id>}` (cluster-router.ts owner()):
//   region:<h3>  a region's driver index     driver:<id>  a driver's record     ride:<id>  a ride's claim record
//   surge:<h3>   a surge cell's multipliers

export const regionRoute = (region: string) => `region:${region}`;
export const driverRoute = (driverId: string) => `driver:${driverId}`;
export const rideRoute = (rideId: string) => `ride:${rideId}`;
export const surgeRoute = (cell: string) => `surge:${cell}`;

/** The three keys of a region's driver index, in the order the geo scripts expect them. */
export function regionKeys(region: string): [geo: string, seen: string, meta: string] {
  return [`geo:{${region}}`, `seen:{${region}}`, `meta:{${region}}`];
}

/** Pattern that finds every region's liveness set on a shard (for the sweeper). */
export const SEEN_KEY_PATTERN = 'seen:{*}';
export function regionOfSeenKey(key: string): string | null {
  const m = /^seen:\{(.+)\}$/.exec(key);
  return m ? m[1]! : null;
}

/**
 * A record written away from its home shard (its home is down) carries the router's fallback tag
 * (shard-router.ts: the epochs of the down shards ranked above): a copy left behind by an earlier
 * outage has another tag, so it is never read again. '' at home (and on a cluster).
 */
const tagged = (key: string, fallbackTag: string) => (fallbackTag ? `${key}~${fallbackTag}` : key);

/** Per-driver record: out-of-order guard, region pointer, duty, dispatch state. */
export const driverKey = (driverId: string, fallbackTag = '') => tagged(`drv:{${driverId}}`, fallbackTag);

/** Per-ride claim record: status OPEN|TAKEN|CLOSED, winner, o:<driverId> -> offer expiry. */
export const rideKey = (rideId: string, fallbackTag = '') => tagged(`ride:{${rideId}}`, fallbackTag);

/** A shard's incarnation, on the shard itself (shard-router.ts, redis/lua/shard_epoch.lua). */
export const SHARD_EPOCH_KEY = 'shard:epoch';

/** Per surge cell (H3 res 7): car type -> smoothed multiplier and when (pricing/surge.ts). */
export const surgeKey = (cell: string) => `surge:{${cell}}`;
