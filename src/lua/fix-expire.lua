#!lua flags=allow-oom,allow-cross-slot-keys
--[[
fix-expire.lua: give a batch of keys a TTL in one round trip, never overwriting one, and
measure only the keys it wrote. The keys come from a keys-only SCAN (nothing read before):
this call is where the server answers "had it a TTL?", so a key that already had one, or
got one since the SCAN, costs one PEXPIRE and nothing else. It is the one write loop of
`fix --apply`: every batch of NX writes (and of LT writes, with --max-ttl) goes through it.
Declared allow-oom: EXPIRE frees memory, and fix is most needed when the server is over
maxmemory with noeviction, exactly when a plain script would be refused with OOM.

KEYS: none. The keys come from SCAN on this very node, so they are all local to it.
ARGV[1]  'NX' to set a TTL only where there is none (PEXPIRE ... NX),
         'LT' to shorten only a longer TTL (PTTL, then PEXPIRE ... LT)
ARGV[2]  which keys whose TTL was set get MEMORY USAGE (default SAMPLES: bounded, the memory
         that will be freed) in their token: '1' every key, '0' none, or one character per
         key, '1' to measure it (the client measures a sample and scales it)
ARGV[3]  the TTL in milliseconds for every key, or '*' when each key carries its own
ARGV[4]  the keys, packed in one binary string (one argument instead of one per key costs the
         server less to parse and the client much less to send): per key, struct '<I4' (its
         length), with '*' then '<d' (its TTL), then the key itself
Returns: { tokens, micros }
  micros: server-side time of the call (from TIME), used to size the next call.
  tokens: one string, a token per key in order, separated by ',':
  '<expiry>/<bytes>'  the TTL was set: PEXPIRETIME right after the write (absolute expiry,
             unix ms: what undo compares against) and the bytes the key uses (never 0)
  '<expiry>' the TTL was set (not measured, or MEMORY is refused)
  '0'        refused: NX, the key has a TTL; LT, it has none or a shorter one
  '-'        the key is gone (EXISTS, asked only after a refusal)
]]
local call = redis.call
local t0 = call('TIME')
local mode = ARGV[1]
local each = ARGV[3] == '*'
local ttl = ARGV[3]
local blob = ARGV[4]
local unpack = struct.unpack
local sub = string.sub
-- A TTL under a second deletes the key: refused before anything is written (the client
-- never sends one; this is the last line of defence).
local low = 'ERR keywarden: TTL below 1000 ms refused'
if #blob > 0 and not each and tonumber(ttl) < 1000 then return redis.error_reply(low) end
local at = 1
while each and at <= #blob do
  local len, t
  len, t, at = unpack('<I4d', blob, at)
  if t < 1000 then return redis.error_reply(low) end
  at = at + len
end
local measureAll = ARGV[2] == '1' and mode == 'NX'
local mask = #ARGV[2] > 1 and mode == 'NX' and ARGV[2]
local byte = string.byte
local out = {}
local n = 0
at = 1
while at <= #blob do
  local len
  len, at = unpack('<I4', blob, at)
  if each then ttl, at = unpack('<d', blob, at) end
  local key = sub(blob, at, at + len - 1)
  at = at + len
  local took
  if mode == 'LT' then
    -- LT treats a key without TTL as infinite and would give it one: only shorten real TTLs.
    local pttl = call('PTTL', key)
    if pttl == -2 then
      took = -1
    elseif pttl == -1 then
      took = 0
    else
      took = call('PEXPIRE', key, ttl, 'LT')
    end
  else
    took = call('PEXPIRE', key, ttl, 'NX')
    if took == 0 and call('EXISTS', key) == 0 then took = -1 end
  end
  n = n + 1
  if took == 1 then
    local token = call('PEXPIRETIME', key)
    if measureAll or (mask and byte(mask, n) == 49) then
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
local t1 = call('TIME')
return { table.concat(out, ','), (t1[1] - t0[1]) * 1000000 + (t1[2] - t0[2]) }
