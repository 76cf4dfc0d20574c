-- How long ago (ms, this server's clock) the driver was last heard from; -1 without a record.
-- Compared here, where `seen` was stamped, never against an API host's clock.
-- KEYS[1] drv:{<driverId>}
local seen = tonumber(redis.call('HGET', KEYS[1], 'seen'))
if not seen then return -1 end
local t = redis.call('TIME')
return t[1] * 1000 + math.floor(t[2] / 1000) - seen
