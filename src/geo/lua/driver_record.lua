-- The per-driver record, on the shard that owns the driver id (not the region): the out-of-order
-- guard, the region the driver is indexed in, duty (AVAILABLE/OFFLINE) and dispatch state
-- (UNKNOWN/FREE/OFFERED/ON_RIDE). A location ping passes here first.
--
-- KEYS[1] drv:{<driverId>}
-- ARGV[1] recordedAt (ms since epoch, from the device)
-- ARGV[2] region the new position falls in
-- ARGV[3] record TTL (ms): a long-silent driver's record disappears
-- ARGV[4] duty to assume when the record is new (from Postgres)
-- ARGV[5] lat, ARGV[6] lng (kept for the rider's view of the assigned driver)
-- Returns {verdict, previousRegion, duty, state}; verdict 'stale' means nothing was written.
local r = redis.call('HMGET', KEYS[1], 'at', 'region', 'duty', 'state')
local last = tonumber(r[1])
if last and tonumber(ARGV[1]) <= last then
  return {'stale', r[2] or '', r[3] or '', r[4] or ''}
end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local duty = r[3] or ARGV[4]
-- A new record does not know whether the driver holds an offer or a ride: UNKNOWN is never
-- reserved, and the caller restores the real state from Postgres.
local state = r[4] or 'UNKNOWN'
redis.call('HSET', KEYS[1], 'at', ARGV[1], 'region', ARGV[2], 'seen', now, 'duty', duty, 'state', state,
  'lat', ARGV[5], 'lng', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'ok', r[2] or '', duty, state}
