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
Returns: { stats, micros }
  stats: per key, in order, "<t><pttl>,<bytes>,<length>;" where <t> is one letter for the
  type (s l S z h x, or ?name| for module types); "-;" for a key gone since SCAN.
  micros: server-side time of the call (from TIME), used to size the next call.
]]
local t0 = redis.call('TIME')
local measure = ARGV[1] == '1'
local exact = tonumber(ARGV[2])
local samples = ARGV[3]
local code = { string = 's', list = 'l', set = 'S', zset = 'z', hash = 'h', stream = 'x' }
local card = { list = 'LLEN', set = 'SCARD', zset = 'ZCARD', hash = 'HLEN', stream = 'XLEN' }
local out = {}
for i = 4, #ARGV do
  local k = ARGV[i]
  local t = redis.call('TYPE', k).ok
  if t == 'none' then
    out[i - 3] = '-;'
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
      if not bytes then bytes = -1 end
    end
    if t == 'string' and bytes > 1024 then len = redis.call('STRLEN', k) end
    out[i - 3] = (code[t] or ('?' .. t .. '|')) .. pttl .. ',' .. bytes .. ',' .. len .. ';'
  end
end
local stats = table.concat(out)
local t1 = redis.call('TIME')
return { stats, (t1[1] - t0[1]) * 1000000 + (t1[2] - t0[2]) }
