-- Undoes a Redis claim that Postgres refused (or could not record).
-- KEYS[1] ride:{<rideId>}; ARGV[1] driverId, ARGV[2] status to leave behind (OPEN or CLOSED).
if redis.call('HGET', KEYS[1], 'winner') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'winner')
redis.call('HSET', KEYS[1], 'status', ARGV[2])
return 1
