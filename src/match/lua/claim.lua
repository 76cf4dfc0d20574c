-- The fast, atomic first-accept-wins: compare-and-set on the ride's claim record. Idempotent per
-- driver, because ioredis re-sends unanswered commands after a reconnect: the winner asking again
-- must hear WON, not TAKEN. Postgres still decides (see match/claims.ts); this only keeps the
-- losers of a race away from the database.
-- KEYS[1] ride:{<rideId>}; ARGV[1] driverId
-- Returns MISSING (no record: shard lost, ask Postgres), WON, NOT_OFFERED, TAKEN, CLOSED or EXPIRED.
local r = redis.call('HMGET', KEYS[1], 'status', 'winner', 'o:' .. ARGV[1])
local status, winner, expiry = r[1], r[2], tonumber(r[3])
if not status then return 'MISSING' end
if winner == ARGV[1] then return 'WON' end
if not expiry then return 'NOT_OFFERED' end
if status ~= 'OPEN' then return status end
local t = redis.call('TIME')
if expiry <= t[1] * 1000 + math.floor(t[2] / 1000) then return 'EXPIRED' end
redis.call('HSET', KEYS[1], 'status', 'TAKEN', 'winner', ARGV[1])
return 'WON'
