-- Reserves a driver for one ride's offer: a driver holds at most one live offer.
--
-- KEYS[1] drv:{<driverId>}
-- ARGV[1] rideId, ARGV[2] how long the reservation holds (ms; stamped with this server's clock)
-- Returns 1 when reserved (or already reserved for this ride), 0 when the driver is busy or
-- offline, 2 when this shard does not know the driver's state yet (no record: not heard from since
-- this shard took over the driver; or UNKNOWN: waiting to be rebuilt from Postgres).
local r = redis.call('HMGET', KEYS[1], 'state', 'ride', 'until', 'duty')
local state, ride, expiry, duty = r[1], r[2], tonumber(r[3]), r[4]
if not state or state == 'UNKNOWN' then return 2 end
if duty == 'OFFLINE' then return 0 end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if state == 'OFFERED' and ride == ARGV[1] then
  -- Held for this ride already: by an earlier attempt whose reply may never have arrived (a
  -- frozen shard runs it on the thaw), or an earlier round. The offer this reservation now backs
  -- is about to be stored, so it is stamped anew: it holds as long as that offer, and the ping
  -- path does not judge it settled (and free it) before the offer is committed.
  redis.call('HSET', KEYS[1], 'until', math.max(expiry or 0, now + tonumber(ARGV[2])), 'since', now)
  return 1
end
-- An OFFERED reservation past its expiry is free again even if nobody released it (an
-- instance died mid-round): reservations can leak for one round at most.
if state == 'FREE' or (state == 'OFFERED' and (not expiry or expiry <= now)) then
  redis.call('HSET', KEYS[1], 'state', 'OFFERED', 'ride', ARGV[1], 'until', now + tonumber(ARGV[2]), 'since', now)
  return 1
end
return 0
