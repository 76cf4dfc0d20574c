-- Takes (or refreshes) one of an identity's WebSocket slots, across every API instance.
-- KEYS[1] sockets:{<identity>}  sorted set socketId -> expiry (ms, this server's clock)
-- ARGV[1] socketId, ARGV[2] most sockets per identity, ARGV[3] slot lifetime (ms; refreshed while open)
-- Returns 1 when the socket holds a slot, 0 when the identity has no free slot.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
-- Sockets of an instance that died stop counting once their slot was not refreshed in time.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
