#!lua flags=allow-oom,allow-cross-slot-keys
--[[
fix-expire.lua: give a batch of keys a TTL in one round trip, never overwriting one, and
measure only the keys it wrote. The keys come from a keys-only SCAN (nothing read before):
this call is where the server answers "had it a TTL?", so a key that already had one, or
got one since the SCAN, costs one PEXPIRE and nothing else.
Declared allow-oom: EXPIRE frees memory, and fix is most needed when the server is over
maxmemory with noeviction, exactly when a plain script would be refused with OOM.

KEYS: none. The keys come from SCAN on this very node, so they are all local to it.
ARGV[1]  'NX' to set a TTL only where there is none (PEXPIRE ... NX),
         'LT' to shorten only a longer TTL (PTTL, then PEXPIRE ... LT)
ARGV[2]  '1' to report MEMORY USAGE (default SAMPLES: bounded) of each key whose TTL was
         set (the memory that will be freed), '0' not to
ARGV[3], ARGV[4], ...  pairs: key, TTL in milliseconds
Returns: one string, a token per key in order, separated by ',':
  '+<bytes>' the TTL was set (bytes empty when not measured or MEMORY is refused)
  '0'        refused: NX, the key has a TTL; LT, it has none or a shorter one
  '-'        the key is gone (EXISTS, asked only after a refusal)
]]
local mode = ARGV[1]
local measure = ARGV[2] == '1'
local out = {}
for i = 3, #ARGV, 2 do
  local key = ARGV[i]
  local took
  if mode == 'LT' then
    -- LT treats a key without TTL as infinite and would give it one: only shorten real TTLs.
    local pttl = redis.call('PTTL', key)
    if pttl == -2 then
      took = -1
    elseif pttl == -1 then
      took = 0
    else
      took = redis.call('PEXPIRE', key, ARGV[i + 1], 'LT')
    end
  else
    took = redis.call('PEXPIRE', key, ARGV[i + 1], 'NX')
    if took == 0 and redis.call('EXISTS', key) == 0 then took = -1 end
  end
  if took == 1 then
    local bytes = ''
    if measure and mode == 'NX' then
      -- pcall: a user without MEMORY permission still gets the TTLs, just no byte figures.
      local m = redis.pcall('MEMORY', 'USAGE', key)
      if type(m) == 'number' then bytes = m end
    end
    out[#out + 1] = '+' .. bytes
  elseif took == 0 then
    out[#out + 1] = '0'
  else
    out[#out + 1] = '-'
  end
end
return table.concat(out, ',')
