-- Records a round's offers on the ride's claim record.
-- KEYS[1] ride:{<rideId>}  hash: status OPEN|TAKEN|CLOSED, winner, pending + pendingUntil (a claim
--                          being recorded), o:<driverId> -> offer expiry (ms, this server's clock)
-- ARGV[1] record TTL (ms), ARGV[2] offer validity (ms), then the offered driver ids.
-- Returns the ride's claim status after the call; offers are only written while it is OPEN.
redis.call('HSETNX', KEYS[1], 'status', 'OPEN')
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'OPEN' then
  local t = redis.call('TIME')
  local expiry = t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2])
  for i = 3, #ARGV do redis.call('HSET', KEYS[1], 'o:' .. ARGV[i], expiry) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return status
