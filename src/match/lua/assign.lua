-- Marks a driver as on a ride after Postgres recorded the assignment. Creates the record when
-- the driver's shard lost it, so a busy driver is never offered another ride.
-- KEYS[1] drv:{<driverId>}; ARGV[1] rideId, ARGV[2] record TTL (ms).
local fresh = redis.call('EXISTS', KEYS[1]) == 0
redis.call('HSET', KEYS[1], 'state', 'ON_RIDE', 'ride', ARGV[1])
redis.call('HDEL', KEYS[1], 'until')
if fresh then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
