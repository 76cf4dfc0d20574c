// The Lua scripts, loaded from their .lua files and registered on every shard client (or the
// cluster client, which sends each call to its keys' slot) with ioredis defineCommand (EVALSHA, with an automatic EVAL/reload when the server answers NOSCRIPT, e.g.
// after a restart or SCRIPT FLUSH). The typed wrappers below are the only way code calls them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis, type Cluster, type RedisCommander } from 'ioredis';

const here = import.meta.dirname;

const SCRIPTS = {
  driverPing: { file: '../drivers/lua/ping.lua', keys: 1 },
  reserve: { file: '../drivers/lua/reserve.lua', keys: 1 },
  release: { file: '../drivers/lua/release.lua', keys: 1 },
  assign: { file: '../drivers/lua/assign.lua', keys: 1 },
  correct: { file: '../drivers/lua/correct.lua', keys: 1 },
  setDuty: { file: '../drivers/lua/duty.lua', keys: 1 },
  silence: { file: '../drivers/lua/silence.lua', keys: 1 },
  startOdometer: { file: '../drivers/lua/odometer.lua', keys: 1 },
  liveInRegion: { file: '../drivers/lua/live_in_region.lua', keys: 1 },
  location: { file: '../geo/lua/location.lua', keys: 3 },
  removeDrivers: { file: '../geo/lua/remove.lua', keys: 3 },
  sweep: { file: '../geo/lua/sweep.lua', keys: 3 },
  nearest: { file: '../geo/lua/nearest.lua', keys: 3 },
  countLive: { file: '../geo/lua/live_count.lua', keys: 1 },
  liveInBox: { file: '../geo/lua/live_in_box.lua', keys: 2 },
  offer: { file: '../match/lua/offer.lua', keys: 1 },
  claim: { file: '../match/lua/claim.lua', keys: 1 },
  unclaim: { file: '../match/lua/unclaim.lua', keys: 1 },
  socketSlot: { file: '../limits/lua/socket_slot.lua', keys: 1 },
  smoothSurge: { file: '../pricing/lua/surge.lua', keys: 1 },
  shardEpoch: { file: './lua/shard_epoch.lua', keys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
export const SCRIPT_NAMES = Object.keys(SCRIPTS) as ScriptName[];
type Arg = string | number;

type Scripts = { [K in ScriptName]: (...keysThenArgs: Arg[]) => Promise<unknown> };

/** A shard client with our scripts as methods: `redis.nearest(k1, k2, k3, ...args)`. */
export type ScriptedRedis = Redis & Scripts;
/** The cluster client with our scripts: each call goes to the node serving its keys' slot. */
export type ScriptedCluster = Cluster & Scripts;
/** What routed operations may use, on either: keyed commands, MULTI (keys of one slot), our scripts. */
export type ScriptedClient = RedisCommander & Pick<Redis, 'multi'> & Scripts;

const sources = new Map<ScriptName, string>();

export function scriptSource(name: ScriptName): string {
  let source = sources.get(name);
  if (!source) {
    source = readFileSync(path.resolve(here, SCRIPTS[name].file), 'utf8');
    sources.set(name, source);
  }
  return source;
}

export function defineScripts<C extends Redis | Cluster>(redis: C): C & Scripts {
  for (const name of Object.keys(SCRIPTS)) {
    // defineCommand would silently replace a built-in command of the same name (PING, RESTORE…).
    if (typeof (Redis.prototype as unknown as Record<string, unknown>)[name] === 'function') throw new Error(`script name ${name} shadows a Redis command`);
  }
  for (const [name, spec] of Object.entries(SCRIPTS) as Array<[ScriptName, (typeof SCRIPTS)[ScriptName]]>) {
    redis.defineCommand(name, { numberOfKeys: spec.keys, lua: scriptSource(name) });
  }
  return redis as C & Scripts;
}
