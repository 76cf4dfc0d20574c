-- Writes one driver's position into a region's index: position, last-heard time and the packed
-- metadata the search filters on, atomically. Never moves a driver back to an older position.
--
-- KEYS[1] geo:{<region>}   GEO set of driver positions
-- KEYS[2] seen:{<region>}  sorted set driverId -> server time (ms) the driver was last heard from
-- KEYS[3] meta:{<region>}  hash driverId -> "carType|paymentPreference|rating|recordedAt"
-- ARGV[1] driverId, ARGV[2] lng, ARGV[3] lat, ARGV[4] "carType|paymentPreference|rating",
-- ARGV[5] recordedAt (ms)
-- Returns 1 when written, 0 when an equal or newer position is already indexed.
local recordedAt = tonumber(ARGV[5])
local previous = redis.call('HGET', KEYS[3], ARGV[1])
if previous then
  local previousAt = tonumber(string.match(previous, '([^|]*)$'))
  if previousAt and previousAt >= recordedAt then return 0 end
end
local t = redis.call('TIME')
redis.call('GEOADD', KEYS[1], ARGV[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4] .. '|' .. ARGV[5])
return 1
