#!lua flags=no-writes,allow-cross-slot-keys
--[[
inspect-keys.lua: inspection of keys a SCAN on this node just returned, so the scanner can
keep the next SCAN and this call in flight together (the server never waits on a round trip).
Declared no-writes: it runs on replicas and on a server over maxmemory.

KEYS: none. The keys come from SCAN on this very node, so they are all local to it.
ARGV[1]  '1' to measure MEMORY USAGE, '0' when this user may not run MEMORY
ARGV[2]  largest element count measured exactly (MEMORY USAGE ... SAMPLES 0)
ARGV[3]  SAMPLES for larger collections, so no call walks millions of elements
ARGV[4…] the keys
Returns: a flat array, four integers per key in order, then one more:
  type   1 string, 2 list, 3 set, 4 zset, 5 hash, 6 stream, 0 gone since SCAN,
         or the type's name (a string) for module types
  pttl   as PTTL returns it (-1 no TTL, -2 gone)
  bytes  MEMORY USAGE, -1 when not measured
  length elements (strings: bytes, only above 1 KB), -1 when not measured
  last:  the server-side time of the call in microseconds (from TIME), used to size the
         next call by what actually blocked the server.
Integers, not a formatted string: number-to-string conversion was a third of the Lua time.
]]
local call = redis.call
local t0 = call('TIME')
local measure = ARGV[1] == '1'
local exact = tonumber(ARGV[2])
local samples = ARGV[3]
local code = { string = 1, list = 2, set = 3, zset = 4, hash = 5, stream = 6 }
local card = { list = 'LLEN', set = 'SCARD', zset = 'ZCARD', hash = 'HLEN', stream = 'XLEN' }
local out = {}
local n = 0
for i = 4, #ARGV do
  local k = ARGV[i]
  local t = call('TYPE', k).ok
  if t == 'none' then
    out[n + 1] = 0; out[n + 2] = -2; out[n + 3] = -1; out[n + 4] = -1
  else
    local len = -1
    local bytes = -1
    local c = card[t]
    if c then len = call(c, k) end
    if measure then
      if len > exact then
        bytes = call('MEMORY', 'USAGE', k, 'SAMPLES', samples)
      else
        bytes = call('MEMORY', 'USAGE', k, 'SAMPLES', '0')
      end
      -- MEMORY USAGE answers nil for a key that expired a moment ago.
      if not bytes then bytes = -1 end
    end
    if t == 'string' and bytes > 1024 then len = call('STRLEN', k) end
    out[n + 1] = code[t] or t; out[n + 2] = call('PTTL', k); out[n + 3] = bytes; out[n + 4] = len
  end
  n = n + 4
end
local t1 = call('TIME')
out[n + 1] = (t1[1] - t0[1]) * 1000000 + (t1[2] - t0[2])
return out
