-- Restores the dispatch state of a new driver record (UNKNOWN) from what Postgres says, unless
-- something already set it meanwhile.
-- KEYS[1] drv:{<driverId>}; ARGV[1] state FREE|OFFERED|ON_RIDE, ARGV[2] rideId or '', ARGV[3] expiry or ''.
if redis.call('HGET', KEYS[1], 'state') ~= 'UNKNOWN' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'ride', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'until', ARGV[3]) end
return 1
