-- The fast path of "first accept wins", on the ride's claim record. A claim is PENDING until
-- Postgres committed it; only a committed winner makes other drivers hear TAKEN (markTaken
-- writes it after the commit). Postgres decides every other case; this keeps concurrent losers
-- away from the database while one accept is being recorded.
-- Idempotent per driver (ioredis may resend an unanswered command after a reconnect).
--
-- KEYS[1] ride:{<rideId>}; ARGV[1] driverId, ARGV[2] how long a pending claim holds (ms)
-- Returns MISSING (no record: ask Postgres), WON (the claim is this driver's: confirm it in
-- Postgres), PENDING (another driver's claim is being recorded: wait), TAKEN (a committed winner),
-- NOT_OFFERED, CLOSED or EXPIRED (as far as Redis knows: Postgres has the final word).
local r = redis.call('HMGET', KEYS[1], 'status', 'winner', 'pending', 'pendingUntil', 'o:' .. ARGV[1])
local status, winner, pending, pendingUntil, expiry = r[1], r[2], r[3], tonumber(r[4]), tonumber(r[5])
if not status then return 'MISSING' end
if status == 'TAKEN' then
  if winner == ARGV[1] then return 'WON' end
  return 'TAKEN'
end
if status ~= 'OPEN' then return status end
if pending == ARGV[1] then return 'WON' end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if pending and pendingUntil and pendingUntil > now then return 'PENDING' end
if not expiry then return 'NOT_OFFERED' end
if expiry <= now then return 'EXPIRED' end
redis.call('HSET', KEYS[1], 'pending', ARGV[1], 'pendingUntil', now + tonumber(ARGV[2]))
return 'WON'
