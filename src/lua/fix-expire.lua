#!lua flags=allow-oom,allow-cross-slot-keys
--[[
fix-expire.lua: give a batch of keys a TTL in one round trip, never overwriting one.
Declared allow-oom: EXPIRE frees memory, and fix is most needed when the server is over
maxmemory with noeviction, exactly when a plain script would be refused with OOM.

KEYS: none. The keys come from SCAN on this very node, so they are all local to it.
ARGV[1]  'NX' to set a TTL only where there is none (PEXPIRE ... NX),
         'LT' to shorten only a longer TTL (PEXPIRE ... LT)
ARGV[2], ARGV[3], ...  pairs: key, TTL in milliseconds
Returns: a string with one byte per key, in order: '1' the TTL was set, '0' refused
  (NX: the key has a TTL now; LT: its TTL is already shorter; either: the key is gone).
]]
local mode = ARGV[1]
local out = {}
for i = 2, #ARGV, 2 do
  local key = ARGV[i]
  -- LT treats a key without TTL as infinite and would give it one: only shorten real TTLs.
  if mode == 'LT' and redis.call('PTTL', key) < 0 then
    out[#out + 1] = '0'
  else
    out[#out + 1] = tostring(redis.call('PEXPIRE', key, ARGV[i + 1], mode))
  end
end
return table.concat(out)
