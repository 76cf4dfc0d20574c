-- Frees a driver held for a given ride (offer declined/expired/revoked, or the ride ended).
-- Does nothing when the driver has meanwhile moved on to another ride.
-- KEYS[1] drv:{<driverId>}; ARGV[1] rideId. Returns 1 when released.
local r = redis.call('HMGET', KEYS[1], 'state', 'ride')
if r[2] ~= ARGV[1] or (r[1] ~= 'OFFERED' and r[1] ~= 'ON_RIDE') then return 0 end
redis.call('HSET', KEYS[1], 'state', 'FREE')
redis.call('HDEL', KEYS[1], 'ride', 'until', 'since', 'trip', 'tripLat', 'tripLng', 'tripAt', 'tripKm')
return 1
