-- Records a round's offers on the ride's claim record (the fast path of acceptRide).
-- KEYS[1] ride:{<rideId>}  hash: status OPEN|TAKEN|CLOSED, winner, o:<driverId> -> expiry (ms)
-- ARGV[1] record TTL (ms), then pairs: driverId, expiry (ms).
-- Returns the ride's claim status after the call; offers are only written while it is OPEN.
redis.call('HSETNX', KEYS[1], 'status', 'OPEN')
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'OPEN' then
  for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], 'o:' .. ARGV[i], ARGV[i + 1]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return status
