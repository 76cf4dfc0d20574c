-- Starts a trip's odometer on the driver's record, from the driver's last position: the pings
-- that follow add their distance (ping.lua) while the record still holds this ride.
-- KEYS[1] drv:{<driverId>}; ARGV[1] rideId. Returns 1 when started.
local r = redis.call('HMGET', KEYS[1], 'ride', 'lat', 'lng', 'at')
if r[1] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'trip', ARGV[1], 'tripKm', '0')
if r[2] and r[3] and r[4] then redis.call('HSET', KEYS[1], 'tripLat', r[2], 'tripLng', r[3], 'tripAt', r[4]) end
return 1
