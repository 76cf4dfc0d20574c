-- The drivers of a region heard from within the liveness window (by this server's clock).
-- KEYS[1] seen:{<region>}; ARGV[1] liveness window (ms). Returns their ids.
local t = redis.call('TIME')
local cutoff = t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], cutoff, '+inf')
