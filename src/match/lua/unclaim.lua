-- Drops a pending claim that Postgres did not confirm (refused, failed, or the offer was gone).
-- KEYS[1] ride:{<rideId>}; ARGV[1] driverId. Returns 1 when the pending claim was this driver's.
if redis.call('HGET', KEYS[1], 'pending') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'pending', 'pendingUntil')
return 1
