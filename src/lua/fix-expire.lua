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
ARGV[2]  which keys whose TTL was set get MEMORY USAGE (default SAMPLES: bounded, the memory
         that will be freed) in their token: '1' every key, '0' none, or one character per
         key, '1' to measure it (the client measures a sample and scales it)
ARGV[3]  the TTL in milliseconds for every key, or '*' when each key is followed by its own
ARGV[4…] the keys (with '*': pairs key, TTL)
Returns: { tokens, micros }
  micros: server-side time of the call (from TIME), used to size the next call.
  tokens: one string, a token per key in order, separated by ',':
  '<expiry>/<bytes>'  the TTL was set: PEXPIRETIME right after the write (absolute expiry,
             unix ms: what undo compares against) and the bytes the key uses (never 0)
  '<expiry>' the TTL was set (not measured, or MEMORY is refused)
  '0'        refused: NX, the key has a TTL; LT, it has none or a shorter one
  '-'        the key is gone (EXISTS, asked only after a refusal)
]]
local t0 = redis.call('TIME')
local mode = ARGV[1]
-- A TTL under a second deletes the key: refused before anything is written (the client
-- never sends one; this is the last line of defence).
for i = (ARGV[3] == '*' and 5 or 3), #ARGV, (ARGV[3] == '*' and 2 or #ARGV) do
  if tonumber(ARGV[i]) < 1000 then return redis.error_reply('ERR keywarden: TTL below 1000 ms refused') end
end
local measureAll = ARGV[2] == '1' and mode == 'NX'
local mask = #ARGV[2] > 1 and mode == 'NX' and ARGV[2]
local each = ARGV[3] == '*'
local ttl = ARGV[3]
local step = each and 2 or 1
local out = {}
local n = 0
for i = 4, #ARGV, step do
  local key = ARGV[i]
  if each then ttl = ARGV[i + 1] end
  local took
  if mode == 'LT' then
    -- LT treats a key without TTL as infinite and would give it one: only shorten real TTLs.
    local pttl = redis.call('PTTL', key)
    if pttl == -2 then
      took = -1
    elseif pttl == -1 then
      took = 0
    else
      took = redis.call('PEXPIRE', key, ttl, 'LT')
    end
  else
    took = redis.call('PEXPIRE', key, ttl, 'NX')
    if took == 0 and redis.call('EXISTS', key) == 0 then took = -1 end
  end
  n = n + 1
  if took == 1 then
    local token = redis.call('PEXPIRETIME', key)
    if measureAll or (mask and string.byte(mask, n) == 49) then
      -- pcall: a user without MEMORY permission still gets the TTLs, just no byte figures.
      local m = redis.pcall('MEMORY', 'USAGE', key)
      if type(m) == 'number' and m > 0 then token = token .. '/' .. m end
    end
    out[n] = token
  elseif took == 0 then
    out[n] = '0'
  else
    out[n] = '-'
  end
end
local t1 = redis.call('TIME')
return { table.concat(out, ','), (t1[1] - t0[1]) * 1000000 + (t1[2] - t0[2]) }
