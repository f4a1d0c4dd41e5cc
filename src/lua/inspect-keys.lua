#!lua flags=no-writes,allow-cross-slot-keys
--[[
inspect-keys.lua: the scanner's inspection of one SCAN page. The client reads the page with
a plain SCAN and sends its keys here; this call reports each key's type, TTL, bytes and
length, in order, until its time budget is spent. The names come from a plain SCAN, not from
a SCAN inside the script: the client sees every name before a script touches it, so a key
with a huge name (a Lua string of a 1 MB name costs the server over a millisecond) is never
sent here but inspected with single commands, and each call carries a bounded number of
bytes of names. Declared no-writes: it runs on replicas and on a server over maxmemory.

KEYS: none (the keys are this node's own, from its SCAN).
ARGV[1]  '1' to measure MEMORY USAGE, '0' when this user may not run MEMORY
ARGV[2]  largest element count measured exactly (MEMORY USAGE ... SAMPLES 0)
ARGV[3]  SAMPLES for larger collections, so no call walks millions of elements
ARGV[4]  time budget in microseconds: no key is started once the call has run this long
         (the clock is read every 16 keys); the keys left are the client's to send again
ARGV[5]  the keys, packed in one binary string (one argument instead of one per key costs
         the server less to parse and the client less to send): per key, struct '<I4' (its
         length), then the key itself
Returns { records, microseconds this call ran (from TIME), keys inspected }. records is one
binary string, per key inspected, in order: struct '<Bddd' (type code, pttl, bytes, length),
then for type code 7 (a module type) a byte with the type name's length and the name. Type
codes: 1 string, 2 list, 3 set, 4 zset, 5 hash, 6 stream, 0 gone. pttl as PTTL returns it
(-1 none, -2 gone: deleted, expired, or of a slot this cluster node does not serve); bytes
and length -1 when not measured (strings get a length only above 1 KB). One packed string
instead of five reply elements per key: building and parsing thousands of small replies
cost more than the inspection itself; the names are not sent back (the client has them).
]]
local call = redis.call
local pack = struct.pack
local unpack = struct.unpack
local sub = string.sub
local t0 = call('TIME')
local measure = ARGV[1] == '1'
local exact = tonumber(ARGV[2])
local samples = ARGV[3]
local budget = tonumber(ARGV[4])
local keys = ARGV[5]

local code = { string = 1, list = 2, set = 3, zset = 4, hash = 5, stream = 6 }
local card = { list = 'LLEN', set = 'SCARD', zset = 'ZCARD', hash = 'HLEN', stream = 'XLEN' }

local function elapsed()
  local t1 = call('TIME')
  return (t1[1] - t0[1]) * 1000000 + (t1[2] - t0[2])
end

local out = {}
local n = 0
local o = 1
while o <= #keys do
  if n > 0 and n % 16 == 0 and elapsed() >= budget then break end
  local length = unpack('<I4', keys, o)
  local k = sub(keys, o + 4, o + 3 + length)
  o = o + 4 + length
  n = n + 1
  local reply = redis.pcall('TYPE', k)
  local t = reply.ok
  if not t then
    -- A cluster node may hold keys of a slot it does not serve (a resharding under way, or
    -- one left unfinished): scripts may not touch them. They are counted as gone here, and
    -- by the node that serves them. Any other error ends the call.
    if not string.find(reply.err, 'non local key', 1, true) then return redis.error_reply(reply.err) end
    t = 'none'
  end
  if t == 'none' then
    out[n] = pack('<Bddd', 0, -2, -1, -1)
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
    local tc = code[t]
    if tc then
      out[n] = pack('<Bddd', tc, call('PTTL', k), bytes, len)
    else
      out[n] = pack('<BdddB', 7, call('PTTL', k), bytes, len, #t) .. t
    end
  end
end
return { table.concat(out), elapsed(), n }
