-- Smooths a cell's surge towards a new raw value, with this server's clock: the multiplier
-- moves by the fraction of the smoothing time constant that passed since the last update.
-- KEYS[1] surge:{<cell>}  hash <carType> -> "multiplier|updatedAt(ms)|supply|demand"
-- ARGV[1] car type, ARGV[2] raw multiplier, ARGV[3] smoothing time constant (ms), ARGV[4] supply,
-- ARGV[5] demand, ARGV[6] key TTL (ms). Returns the smoothed multiplier (as a string).
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local raw, tau = tonumber(ARGV[2]), tonumber(ARGV[3])
local previous = redis.call('HGET', KEYS[1], ARGV[1])
local value = raw
if previous and tau > 0 then
  local old, at = string.match(previous, '^([^|]*)|([^|]*)')
  old, at = tonumber(old), tonumber(at)
  if old and at then value = old + (raw - old) * math.min(1, math.max(0, now - at) / tau) end
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.4f|%d|%s|%s', value, now, ARGV[4], ARGV[5]))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return string.format('%.4f', value)
