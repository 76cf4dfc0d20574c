-- Takes drivers out of a region's index (went OFFLINE, or moved to another region).
-- KEYS[1] geo:{<region>}, KEYS[2] seen:{<region>}, KEYS[3] meta:{<region>}
-- ARGV: driver ids. Returns how many were indexed here.
local removed = redis.call('ZREM', KEYS[1], unpack(ARGV))
redis.call('ZREM', KEYS[2], unpack(ARGV))
redis.call('HDEL', KEYS[3], unpack(ARGV))
return removed
