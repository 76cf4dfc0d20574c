-- A location ping's first step, on the shard that owns the driver id (not the region): the
-- per-driver rate limit, the out-of-order guard, the region the driver is indexed in, duty
-- (AVAILABLE/OFFLINE) and dispatch state (UNKNOWN/FREE/OFFERED/ON_RIDE). One round trip, so the
-- rate limit costs the hot path nothing extra.
--
-- KEYS[1] drv:{<driverId>}
-- ARGV[1] recordedAt (ms since epoch, from the device)
-- ARGV[2] region the new position falls in
-- ARGV[3] record TTL (ms): a long-silent driver's record disappears
-- ARGV[4] duty to assume when the record is new (from Postgres)
-- ARGV[5] lat, ARGV[6] lng (kept for the rider's view of the assigned driver)
-- ARGV[7] pings refilled per second, ARGV[8] burst (token bucket)
-- ARGV[9] reconcile interval (ms), ARGV[10] settle time (ms) of a fresh reservation or assignment
-- While a trip is running (field `trip`, set by startOdometer), the distance between accepted
-- pings is added to `tripKm` (jumps faster than 250 km/h are GPS noise and skipped): the trip's
-- distance costs no extra round trip either.
-- Returns {verdict, previousRegion, duty, state, ride, extra}:
--   verdict 'limited' (nothing written; extra = ms until a ping is allowed again),
--   'stale' (an equal or newer report was accepted before; only the bucket moved),
--   'ok' (extra = 1 when the caller should check the dispatch state against Postgres; a 7th
--   element then: the hold's `since`, for that check's compare-and-set in correct.lua).
local r = redis.call('HMGET', KEYS[1], 'at', 'region', 'duty', 'state', 'ride', 'tokens', 'filled', 'checked', 'since',
  'trip', 'tripLat', 'tripLng', 'tripAt', 'tripKm')
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

local rate, burst = tonumber(ARGV[7]), tonumber(ARGV[8])
local tokens = tonumber(r[6]) or burst
local filled = tonumber(r[7]) or now
tokens = math.min(burst, tokens + math.max(0, now - filled) * rate / 1000)
if tokens < 1 then
  return {'limited', r[2] or '', r[3] or '', r[4] or '', r[5] or '', math.ceil((1 - tokens) * 1000 / rate)}
end
tokens = tokens - 1

local last = tonumber(r[1])
if last and tonumber(ARGV[1]) <= last then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'filled', now)
  return {'stale', r[2] or '', r[3] or '', r[4] or '', r[5] or '', 0}
end
local duty = r[3] or ARGV[4]
-- A new record does not know whether the driver holds an offer or a ride: UNKNOWN is never
-- reserved, and the caller restores the real state from Postgres.
local state = r[4] or 'UNKNOWN'
redis.call('HSET', KEYS[1], 'at', ARGV[1], 'region', ARGV[2], 'seen', now, 'duty', duty, 'state', state,
  'lat', ARGV[5], 'lng', ARGV[6], 'tokens', tostring(tokens), 'filled', now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])

if r[10] and r[10] == r[5] then
  local lat1, lng1, at1 = tonumber(r[11]), tonumber(r[12]), tonumber(r[13])
  local lat2, lng2, at2 = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[1])
  if lat1 and lng1 and at1 then
    local rad = math.pi / 180
    local a = math.sin((lat2 - lat1) * rad / 2) ^ 2 + math.cos(lat1 * rad) * math.cos(lat2 * rad) * math.sin((lng2 - lng1) * rad / 2) ^ 2
    local km = 2 * 6371.0088 * math.asin(math.min(1, math.sqrt(a)))
    local hours = (at2 - at1) / 3600000
    if hours > 0 and km / hours <= 250 then
      redis.call('HSET', KEYS[1], 'tripKm', tostring((tonumber(r[14]) or 0) + km), 'tripLat', ARGV[5], 'tripLng', ARGV[6], 'tripAt', ARGV[1])
    end
  else
    redis.call('HSET', KEYS[1], 'tripLat', ARGV[5], 'tripLng', ARGV[6], 'tripAt', ARGV[1])
  end
end

-- A held driver is checked against Postgres at most once per interval, and only once the hold
-- had time to be committed there (a reservation precedes its offer's insert by a few ms).
local verify = 0
if state == 'OFFERED' or state == 'ON_RIDE' then
  local checked, since = tonumber(r[8]) or 0, tonumber(r[9]) or 0
  if now - since >= tonumber(ARGV[10]) and now - checked >= tonumber(ARGV[9]) then
    redis.call('HSET', KEYS[1], 'checked', now)
    verify = 1
  end
end
if verify == 1 then return {'ok', r[2] or '', duty, state, r[5] or '', verify, r[9] or ''} end
return {'ok', r[2] or '', duty, state, r[5] or '', verify}
