-- How many drivers of a region were heard from within the liveness window, by this server's clock
-- (the clock that stamped the seen scores). The city map's aggregate view: no member is read.
-- KEYS[1] seen:{<region>}; ARGV[1] liveness window (ms). Returns the count.
local t = redis.call('TIME')
local cutoff = t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[1])
return redis.call('ZCOUNT', KEYS[1], cutoff, '+inf')
