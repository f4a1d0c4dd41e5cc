#!lua flags=no-writes,allow-cross-slot-keys
--[[
inspect.lua: one bounded SCAN step and the inspection of the keys it returned, in one
round trip. Declared no-writes, so it also runs on replicas and while the server is over
maxmemory (an incident is exactly when the audit must still work).

KEYS: none. The keys come from SCAN on this very node, so they are all local to it.
ARGV[1]  cursor
ARGV[2]  COUNT hint for SCAN
ARGV[3]  MATCH glob, '' for none
ARGV[4]  TYPE filter, '' for none
ARGV[5]  '1' to measure MEMORY USAGE, '0' when this user may not run MEMORY
ARGV[6]  largest element count measured exactly (MEMORY USAGE ... SAMPLES 0)
ARGV[7]  SAMPLES for larger collections, so no call walks millions of elements
Returns: { next_cursor, { key, ... }, stats, micros }
  micros is the server-side time the call took (from TIME), so callers size the next call by
  what actually blocked the server, not by a round trip that includes client-side noise.
  stats is one string, per key in the same order: "<t><pttl>,<bytes>,<length>;"
  where <t> is one letter for the type (s l S z h x, or ?name| for module types).
  A key deleted or expired since SCAN gets "-;".
]]
local t0 = redis.call('TIME')
local args = { ARGV[1], 'COUNT', ARGV[2] }
if ARGV[3] ~= '' then args[#args + 1] = 'MATCH'; args[#args + 1] = ARGV[3] end
if ARGV[4] ~= '' then args[#args + 1] = 'TYPE'; args[#args + 1] = ARGV[4] end
local page = redis.call('SCAN', unpack(args))
local keys = page[2]
local measure = ARGV[5] == '1'
local exact = tonumber(ARGV[6])
local samples = ARGV[7]

local code = { string = 's', list = 'l', set = 'S', zset = 'z', hash = 'h', stream = 'x' }
local card = { list = 'LLEN', set = 'SCARD', zset = 'ZCARD', hash = 'HLEN', stream = 'XLEN' }
local out = {}
for i = 1, #keys do
  local k = keys[i]
  local t = redis.call('TYPE', k).ok
  if t == 'none' then
    out[i] = '-;'
  else
    local pttl = redis.call('PTTL', k)
    local len = -1
    local bytes = -1
    local c = card[t]
    if c then len = redis.call(c, k) end
    if measure then
      if len > exact then
        bytes = redis.call('MEMORY', 'USAGE', k, 'SAMPLES', samples)
      else
        bytes = redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0')
      end
      -- MEMORY USAGE answers nil for a key that expired between PTTL and now.
      if not bytes then bytes = -1 end
    end
    if t == 'string' and bytes > 1024 then len = redis.call('STRLEN', k) end
    out[i] = (code[t] or ('?' .. t .. '|')) .. pttl .. ',' .. bytes .. ',' .. len .. ';'
  end
end
local stats = table.concat(out)
local t1 = redis.call('TIME')
return { page[1], keys, stats, (t1[1] - t0[1]) * 1000000 + (t1[2] - t0[2]) }
