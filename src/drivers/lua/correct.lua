-- Sets a driver's dispatch state to what Postgres says, if the record still holds what the
-- caller saw (compare-and-set: a reservation made meanwhile is never overwritten).
-- KEYS[1] drv:{<driverId>}
-- ARGV[1] expected state, ARGV[2] expected ride ('' = none)
-- ARGV[3] new state FREE|OFFERED|ON_RIDE, ARGV[4] new ride or '', ARGV[5] hold duration (ms) or ''
-- ARGV[6] expected `since` ('' = not compared): a hold taken again for the same ride meanwhile
-- (reserve.lua stamps it anew) backs an offer Postgres may not have committed when it was read.
-- Returns 1 when corrected.
local r = redis.call('HMGET', KEYS[1], 'state', 'ride', 'since')
if r[1] ~= ARGV[1] or (r[2] or '') ~= ARGV[2] then return 0 end
if ARGV[6] and ARGV[6] ~= '' and (r[3] or '') ~= ARGV[6] then return 0 end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('HSET', KEYS[1], 'state', ARGV[3])
redis.call('HDEL', KEYS[1], 'ride', 'until', 'since', 'trip', 'tripLat', 'tripLng', 'tripAt', 'tripKm')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'ride', ARGV[4], 'since', now) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'until', now + tonumber(ARGV[5])) end
return 1
