-- Bounded removal of drivers not heard from within the liveness window, so memory does not grow
-- with churn. Redis deletes a sorted set or hash when its last member goes, so a region whose
-- drivers all left leaves no keys behind.
-- KEYS[1] geo:{<region>}, KEYS[2] seen:{<region>}, KEYS[3] meta:{<region>}
-- ARGV[1] liveness window (ms), ARGV[2] most members to remove in this call
-- Returns the number removed.
local t = redis.call('TIME')
local cutoff = t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[1])
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. cutoff, 'LIMIT', 0, tonumber(ARGV[2]))
-- Lua's unpack fails past ~8,000 values: remove in chunks.
local CHUNK = 1000
for i = 1, #stale, CHUNK do
  local chunk = {}
  for j = i, math.min(i + CHUNK - 1, #stale) do chunk[#chunk + 1] = stale[j] end
  redis.call('ZREM', KEYS[1], unpack(chunk))
  redis.call('ZREM', KEYS[2], unpack(chunk))
  redis.call('HDEL', KEYS[3], unpack(chunk))
end
return #stale
