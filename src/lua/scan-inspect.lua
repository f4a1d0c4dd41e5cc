#!lua flags=no-writes,allow-cross-slot-keys
--[[
scan-inspect.lua: one step of the scanner's walk. SCAN pages are read and their keys
inspected inside the same call, until the call has run for its time budget: the server's
time per call is bounded by the clock, not by a guess of how costly the next keys are, and
the keys never travel to the client and back just to be inspected. Declared no-writes: it
runs on replicas and on a server over maxmemory.

KEYS: none (SCAN walks this node's own keys).
ARGV[1]  cursor to continue from
ARGV[2]  SCAN COUNT of the first page, which the caller sizes to most of the budget; later
         pages are sized here to the budget left, at the cost per bucket this call measured
         (every page has a fixed cost, so one or two pages per call beat many small ones)
ARGV[3]  time budget in microseconds: the call's target duration
ARGV[4]  most keys to return (0: no limit), for --max-ops pacing
ARGV[5]  walk position (0..1) at which to stop, '1' for the whole walk: sample stretches
         and lanes; no key at or past it is returned
ARGV[6]  keys in the table, to keep the last page of a stretch from overshooting it
ARGV[7]  '1' to measure MEMORY USAGE, '0' when this user may not run MEMORY
ARGV[8]  largest element count measured exactly (MEMORY USAGE ... SAMPLES 0)
ARGV[9]  SAMPLES for larger collections, so no call walks millions of elements
ARGV[10] MATCH pattern, '' for none
ARGV[11] TYPE filter, '' for none
ARGV[12] bytes of key names this call may touch: every command on a key hashes and compares
         its whole name, so a page of 1 MB names costs milliseconds whatever the clock says
         between pages. The call ends once the names it read pass this, and later pages are
         sized down to the bytes left
ARGV[13] longest key name inspected here: a longer one is returned unread (in `deferred`)
         for the caller to inspect with single commands, each one lookup long
Returns { next cursor, records, microseconds this call ran (from TIME), SCAN COUNT asked for
in all, number of records, name bytes read, deferred keys }. records is one
binary string, per key: struct '<I4Bddd' (key length, type code, pttl, bytes, length), then
for type code 7 (a module type) a byte with the type name's length and the name, then the
key itself. Type codes: 1 string, 2 list, 3 set, 4 zset, 5 hash, 6 stream, 0 gone.
pttl as PTTL returns it (-1 none, -2 gone: deleted, expired, or of a slot this cluster node
does not serve); bytes and length -1 when not measured (strings
get a length only above 1 KB). One packed string instead of five reply elements per key:
building and parsing thousands of small replies cost more than the inspection itself.
]]
local call = redis.call
local pack = struct.pack
local t0 = call('TIME')
local cursor = ARGV[1]
local step = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local maxKeys = tonumber(ARGV[4])
local stopAt = tonumber(ARGV[5])
local tableKeys = tonumber(ARGV[6])
local measure = ARGV[7] == '1'
local exact = tonumber(ARGV[8])
local samples = ARGV[9]
local byteBudget = tonumber(ARGV[12])
local heavyName = tonumber(ARGV[13])
local scanArgs = { 'SCAN', cursor, 'COUNT', step }
if ARGV[10] ~= '' then scanArgs[#scanArgs + 1] = 'MATCH'; scanArgs[#scanArgs + 1] = ARGV[10] end
if ARGV[11] ~= '' then scanArgs[#scanArgs + 1] = 'TYPE'; scanArgs[#scanArgs + 1] = ARGV[11] end

local code = { string = 1, list = 2, set = 3, zset = 4, hash = 5, stream = 6 }
local card = { list = 'LLEN', set = 'SCARD', zset = 'ZCARD', hash = 'HLEN', stream = 'XLEN' }

-- SCAN walks buckets in bit-reversed order: reversing the cursor's bits gives its position
-- along the walk in [0, 1). Cursors stay below the table size, far below 2^53. Cursor 0
-- returned by SCAN means the walk is complete: position 1.
local function position(c)
  if c == '0' then return 1 end
  local v = tonumber(c)
  local p, w = 0, 0.5
  while v > 0 do
    local b = v % 2
    if b == 1 then p = p + w end
    v = (v - b) / 2
    w = w / 2
  end
  return p
end

-- SCAN COUNT asked for in all, the unit the caller paces by: with a sparse MATCH a page
-- returns few keys but costs its buckets all the same.
local asked = 0

local function scan(from, count)
  scanArgs[2] = from
  scanArgs[4] = count
  asked = asked + count
  return call(unpack(scanArgs))
end

-- The next page of a stretch that ends at stopAt, never a key past it: stretches of one walk
-- that touch (the scanner's lanes) must not read a key twice. A page sized to the keys left
-- can still run past the end when the last buckets hold fewer keys than expected; such a
-- page is read again bucket by bucket (SCAN is repeatable within one script, and COUNT 1
-- returns the keys of a single bucket), keeping the buckets before the end.
local function stretchPage(from, count)
  local page = scan(from, count)
  if position(page[1]) <= stopAt then return page end
  local keys = {}
  local cur = from
  repeat
    local one = scan(cur, 1)
    cur = one[1]
    if position(cur) > stopAt then break end
    for i = 1, #one[2] do keys[#keys + 1] = one[2][i] end
  until position(cur) >= stopAt
  return { cur, keys }
end

local count = step
local out = {}
local n = 0
local elapsed = 0
local nameBytes = 0
local deferred = {}
repeat
  local page
  if stopAt < 1 then
    -- Cursor 0 before the first page is the walk's start, not its end.
    local from = (cursor == '0' and asked == 0) and 0 or position(cursor)
    local left = math.ceil((stopAt - from) * tableKeys)
    page = stretchPage(cursor, math.max(1, math.min(count, left)))
  else
    page = scan(cursor, count)
  end
  cursor = page[1]
  local keys = page[2]
  local pageBytes = 0
  for i = 1, #keys do
    local k = keys[i]
    pageBytes = pageBytes + #k
    if #k > heavyName then
      deferred[#deferred + 1] = k
    else
    -- TYPE, PTTL, a length and MEMORY USAGE: about four lookups of the name each.
    nameBytes = nameBytes + 4 * #k
    local reply = redis.pcall('TYPE', k)
    local t = reply.ok
    if not t then
      -- A cluster node may hold keys of a slot it does not serve (a resharding under way, or
      -- one left unfinished): scripts may not touch them. They are counted as gone here, and
      -- by the node that serves them. Any other error ends the call as before.
      if not string.find(reply.err, 'non local key', 1, true) then return redis.error_reply(reply.err) end
      t = 'none'
    end
    if t == 'none' then
      out[n + 1] = pack('<I4Bddd', #k, 0, -2, -1, -1)
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
        out[n + 1] = pack('<I4Bddd', #k, tc, call('PTTL', k), bytes, len)
      else
        out[n + 1] = pack('<I4BdddB', #k, 7, call('PTTL', k), bytes, len, #t) .. t
      end
    end
    out[n + 2] = k
    n = n + 2
    end
  end
  nameBytes = nameBytes + pageBytes
  local t1 = call('TIME')
  elapsed = (t1[1] - t0[1]) * 1000000 + (t1[2] - t0[2])
  -- The next page fills the budget left at this call's own cost per bucket so far; a
  -- remainder worth less than a quarter of the first page is not worth a page's fixed cost.
  if elapsed < budget then
    count = math.min(step, math.floor((budget - elapsed) * asked / math.max(elapsed, 1)))
    if count < step / 4 then break end
  end
  -- Heavy names: the next page gets the buckets the bytes left pay for, at this page's bytes
  -- per bucket; none once the names read pass the budget.
  if nameBytes >= byteBudget then break end
  if pageBytes > 0 then
    count = math.min(count, math.floor((byteBudget - nameBytes) * asked / math.max(nameBytes, 1)))
    if count < 1 then break end
  end
until cursor == '0' or elapsed >= budget or (maxKeys > 0 and n / 2 + #deferred >= maxKeys) or position(cursor) >= stopAt
return { cursor, table.concat(out), elapsed, asked, n / 2 + #deferred, nameBytes, deferred }
