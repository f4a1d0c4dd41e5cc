-- guard-sliding-window: atomic sliding-window rate limit (a log of recent requests).
--
-- KEYS[1]  sorted set of the requests allowed in the window, scored by server time in ms
-- ARGV[1]  limit: requests allowed per window (>= 1)
-- ARGV[2]  window length in ms
-- ARGV[3]  a unique member for this request
-- Returns  { allowed (1 or 0), requests counted in the window including this one if allowed,
--            ms until the oldest counted request leaves the window (0 when none) }
--
-- Time comes from the server (TIME), so clients with skewed clocks share one window. The key
-- always carries a TTL of one window from the last request: it can never outlive its use.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  count = count + 1
  allowed = 1
end
local reset = 0
if count > 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  reset = tonumber(oldest[2]) + window - now
end
return { allowed, count, reset }
