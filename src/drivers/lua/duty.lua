-- Records a driver's duty (AVAILABLE/OFFLINE) on the driver's record.
-- KEYS[1] drv:{<driverId>}; ARGV[1] duty, ARGV[2] record TTL (ms).
-- Returns the region the driver is indexed in ('' when none), so OFFLINE can remove it there.
local region = redis.call('HGET', KEYS[1], 'region')
redis.call('HSET', KEYS[1], 'duty', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return region or ''
