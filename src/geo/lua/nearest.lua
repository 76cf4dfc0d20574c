-- The nearest live drivers of one region that fit a request, searching an expanding radius.
-- GEOSEARCH cost grows with the area scanned (COUNT does not shorten the scan), so we start small
-- and double up to the cap, stopping as soon as enough drivers fit.
--
-- KEYS[1] geo:{<region>}, KEYS[2] seen:{<region>}, KEYS[3] meta:{<region>}
-- ARGV[1] lng, ARGV[2] lat
-- ARGV[3] first radius (km), ARGV[4] largest radius (km)
-- ARGV[5] how many drivers are wanted
-- ARGV[6] liveness window (ms): drivers not heard from within it are skipped
-- ARGV[7] car type ('' = any), ARGV[8] payment method CASH|CARD ('' = any), ARGV[9] minimum rating (-1 = any)
-- ARGV[10..] driver ids to skip (already offered this ride, or declined it)
-- Returns a flat list: id, distance (km), lng, lat, last-heard (ms), ... nearest first.
local lng, lat = ARGV[1], ARGV[2]
local radius = tonumber(ARGV[3])
local maxRadius = tonumber(ARGV[4])
local want = tonumber(ARGV[5])
local carType, payment, minRating = ARGV[7], ARGV[8], tonumber(ARGV[9])
local t = redis.call('TIME')
local cutoff = t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[6])

local examined = {}
for i = 10, #ARGV do examined[ARGV[i]] = true end

local function fits(meta)
  if carType == '' and payment == '' and minRating < 0 then return true end
  local car, pay, rating = string.match(meta, '^([^|]*)|([^|]*)|([^|]*)')
  if carType ~= '' and car ~= carType then return false end
  if payment ~= '' and pay ~= 'ANY' and pay ~= payment then return false end
  if minRating >= 0 and (tonumber(rating) or 0) < minRating then return false end
  return true
end

local found, count = {}, 0
while true do
  local hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', lng, lat, 'BYRADIUS', radius, 'km', 'ASC',
    'WITHDIST', 'WITHCOORD')
  for _, hit in ipairs(hits) do
    local id = hit[1]
    -- Drivers seen in a smaller radius were already judged; a second look cannot change the verdict.
    if not examined[id] then
      examined[id] = true
      local seen = tonumber(redis.call('ZSCORE', KEYS[2], id))
      if seen and seen >= cutoff then
        local meta = redis.call('HGET', KEYS[3], id)
        if meta and fits(meta) then
          found[#found + 1] = id
          found[#found + 1] = hit[2]
          found[#found + 1] = hit[3][1]
          found[#found + 1] = hit[3][2]
          found[#found + 1] = tostring(seen)
          count = count + 1
          if count >= want then return found end
        end
      end
    end
  end
  if radius >= maxRadius then return found end
  radius = math.min(radius * 2, maxRadius)
end
