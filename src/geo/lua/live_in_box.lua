-- The live drivers of a region inside a box: id and position, for the city map's closer views.
-- Liveness by this server's clock, as everywhere. At most ARGV[6] drivers (GEOSEARCH COUNT … ANY
-- stops scanning there), so a crowded box costs a bounded read.
-- KEYS[1] geo:{<region>}, KEYS[2] seen:{<region>}
-- ARGV[1] centre lng, ARGV[2] centre lat, ARGV[3] width (km), ARGV[4] height (km),
-- ARGV[5] liveness window (ms), ARGV[6] most drivers to return
-- Returns {id1, lng1, lat1, id2, …}.
local t = redis.call('TIME')
local cutoff = t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[5])
local found = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYBOX', ARGV[3], ARGV[4], 'km',
  'COUNT', tonumber(ARGV[6]), 'ANY', 'WITHCOORD')
local out = {}
for _, hit in ipairs(found) do
  local seen = tonumber(redis.call('ZSCORE', KEYS[2], hit[1]))
  if seen and seen >= cutoff then
    out[#out + 1] = hit[1]
    out[#out + 1] = hit[2][1]
    out[#out + 1] = hit[2][2]
  end
end
return out
