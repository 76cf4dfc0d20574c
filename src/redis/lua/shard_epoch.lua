-- A shard's incarnation (epoch), stored on the shard itself, so that instances agree on when it
-- was emptied without talking to each other. Run by shard-router.ts when an instance takes the
-- shard into service: at start-up (join), and when it sees the shard back after it was down for
-- it (rejoin).
--
-- A rejoin empties the shard only if it is still the incarnation this instance saw go down (or
-- it has none: restarted empty, nobody has taken it in since). The first instance to see it back
-- empties it and stamps a new epoch, atomically; an instance that sees it back later finds the
-- new epoch and adopts it, so it never wipes what others wrote since.
--
-- KEYS[1] shard:epoch
-- ARGV[1] the epoch this instance knew before the shard went down ('' when it never read one)
-- ARGV[2] a fresh random epoch (used when this call stamps one)
-- ARGV[3] '1' rejoin (fence), '0' join (start-up: a shard that answers is simply up)
-- Returns {epoch now, 'fenced' | 'joined'}.
local current = redis.call('GET', KEYS[1])
if ARGV[3] == '1' and (not current or current == ARGV[1]) then
  -- ASYNC: the keys are gone at once for every client; only the memory is freed in the background.
  redis.call('FLUSHDB', 'ASYNC')
  redis.call('SET', KEYS[1], ARGV[2])
  return {ARGV[2], 'fenced'}
end
if not current then
  redis.call('SET', KEYS[1], ARGV[2])
  return {ARGV[2], 'joined'}
end
return {current, 'joined'}
