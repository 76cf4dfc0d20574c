-- Marks a driver as on a ride after Postgres recorded the assignment. Creates the record when
-- the driver's shard lost it, so a busy driver is never offered another ride.
-- KEYS[1] drv:{<driverId>}; ARGV[1] rideId, ARGV[2] record TTL (ms).
-- Returns 1 when the record changed (0: it already said ON_RIDE for this ride).
local r = redis.call('HMGET', KEYS[1], 'state', 'ride')
if r[1] == 'ON_RIDE' and r[2] == ARGV[1] then return 0 end
local fresh = redis.call('EXISTS', KEYS[1]) == 0
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'state', 'ON_RIDE', 'ride', ARGV[1], 'since', t[1] * 1000 + math.floor(t[2] / 1000))
redis.call('HDEL', KEYS[1], 'until')
if fresh then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
