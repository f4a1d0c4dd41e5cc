#!lua flags=allow-oom,allow-cross-slot-keys
--[[
fix-step.lua: one step of `fix --apply`'s walk. First it gives the keys the client decided
(from an earlier step's SCAN pages) a TTL with PEXPIRE ... NX, reporting per key exactly as
fix-expire.lua does; then it reads SCAN pages on from the cursor until its time budget is
spent, and returns their keys for the client to decide (and journal) before a later step
writes them. Writing and reading in one call keeps one call of ours in flight per node:
another client waits behind at most one bounded call, never behind a read and a write back
to back. Declared allow-oom: EXPIRE frees memory, and fix is most needed when the server is
over maxmemory with noeviction, exactly when a plain script would be refused with OOM.

KEYS: none. Keys come from SCAN on this very node, so they are all local to it.
ARGV[1]  cursor to continue from, '' to write only (the walk of this database is done)
ARGV[2]  SCAN COUNT per page (small pages: the call stops at most one page past its budget)
ARGV[3]  time budget of the reading, in microseconds: no new page is read once the reading
         has run this long, counting each key read as `ARGV[6]` more (its write, in a later
         step), so the writes a step carries never stretch a later call past the budget
ARGV[4]  most keys to return (0: no limit), for --max-ops pacing
ARGV[5]  MATCH pattern, '' for none
ARGV[6]  estimated microseconds a key read now will cost when written (see ARGV[3])
ARGV[7]  which keys whose TTL was set get MEMORY USAGE (default SAMPLES: bounded) in their
         token: '1' every key, '0' none, or one character per key of ARGV[9], '1' to measure
         it (the client measures a sample and scales it: MEMORY USAGE of every key written
         cost as much server time as the write itself)
ARGV[8]  the TTL in milliseconds for every key written, or '*' when each key carries its own
ARGV[9]  the keys to write, packed in one binary string (one argument instead of one per key
         costs the server less to parse and the client much less to send): per key, struct
         '<I4' (its length), with '*' then '<d' (its TTL), then the key itself
Returns { tokens, next cursor, keys, micros, write micros, pages }
  tokens: one string, a token per key written, in order, separated by ',':
    '<expiry>/<bytes>' set: PEXPIRETIME right after the write (the absolute expiry in unix
      ms, what undo compares against) and MEMORY USAGE; '<expiry>' set, not measured (or
      MEMORY refused); '0' refused (the key has a TTL); '-' the key is gone (EXISTS, asked
      only after a refusal)
  A TTL below 1000 ms is refused with an error before anything is written: it would delete
  the key (the client never sends one; this is the last line of defence).
  next cursor: where the next step reads on ('0': the walk is done; ARGV[1] when nothing was read)
  keys: one binary string, per key read: struct '<I4' (its length), then the key itself
  micros, write micros: server time of the whole call and of its writes (from TIME)
  pages: SCAN pages read (the client sizes pages and budgets from the time per page)
]]
local call = redis.call
local pack = struct.pack
local t0 = call('TIME')
local function since(t)
  local t1 = call('TIME')
  return (t1[1] - t[1]) * 1000000 + (t1[2] - t[2])
end

-- 1. Writes.
local measureAll = ARGV[7] == '1'
local mask = #ARGV[7] > 1 and ARGV[7]
local byte = string.byte
local each = ARGV[8] == '*'
local ttl = ARGV[8]
local blob = ARGV[9]
local sunpack = struct.unpack
local sub = string.sub
local tokens = {}
local w = 0
local at = 1
if #blob > 0 and not each and tonumber(ttl) < 1000 then return redis.error_reply('ERR keywarden: TTL below 1000 ms refused') end
while at <= #blob do
  local len
  len, at = sunpack('<I4', blob, at)
  if each then
    ttl, at = sunpack('<d', blob, at)
    if ttl < 1000 then return redis.error_reply('ERR keywarden: TTL below 1000 ms refused') end
  end
  local key = sub(blob, at, at + len - 1)
  at = at + len
  w = w + 1
  if call('PEXPIRE', key, ttl, 'NX') == 1 then
    local token = call('PEXPIRETIME', key)
    if measureAll or (mask and byte(mask, w) == 49) then
      -- pcall: a user without MEMORY permission still gets the TTLs, just no byte figures.
      local m = redis.pcall('MEMORY', 'USAGE', key)
      if type(m) == 'number' and m > 0 then token = token .. '/' .. m end
    end
    tokens[w] = token
  elseif call('EXISTS', key) == 1 then
    tokens[w] = '0'
  else
    tokens[w] = '-'
  end
end
local writeMicros = since(t0)

-- 2. Reads, for the rest of the budget.
local cursor = ARGV[1]
local out = {}
local n = 0
local pages = 0
if cursor ~= '' then
  local budget = tonumber(ARGV[3])
  local maxKeys = tonumber(ARGV[4])
  local perKey = tonumber(ARGV[6])
  local scanArgs = { 'SCAN', cursor, 'COUNT', ARGV[2] }
  if ARGV[5] ~= '' then scanArgs[5] = 'MATCH'; scanArgs[6] = ARGV[5] end
  local t1 = call('TIME')
  repeat
    local page = call(unpack(scanArgs))
    pages = pages + 1
    cursor = page[1]
    scanArgs[2] = cursor
    local keys = page[2]
    for i = 1, #keys do
      local k = keys[i]
      out[n + 1] = pack('<I4', #k)
      out[n + 2] = k
      n = n + 2
    end
  until cursor == '0' or since(t1) + n / 2 * perKey >= budget or (maxKeys > 0 and n / 2 >= maxKeys)
end
return { table.concat(tokens, ','), cursor, table.concat(out), since(t0), writeMicros, pages }
