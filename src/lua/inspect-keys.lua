#!lua flags=no-writes,allow-cross-slot-keys
--[[
inspect-keys.lua: one step of the scanner's walk. It reports each key's type, TTL, bytes and
length, in order, until its time budget is spent: first the keys the client sends (what an
earlier step did not reach), then the keys of the next SCAN page, read here, if asked for.
Reading the page here saves the client a SCAN reply of thousands of elements to parse and a
round trip per page. A page whose names are heavy is not inspected here at all: the client
reads it again with a plain SCAN, sees every name, and inspects a key with a huge name (a
Lua string of a 1 MB name costs the server over a millisecond) with single commands. So no
call carries more than a bounded number of bytes of names. Declared no-writes: it runs on
replicas and on a server over maxmemory.

KEYS: none (the keys are this node's own, from its SCAN).
ARGV[1]  '1' to measure MEMORY USAGE, '0' when this user may not run MEMORY
ARGV[2]  largest element count measured exactly (MEMORY USAGE ... SAMPLES 0)
ARGV[3]  SAMPLES for larger collections, so no call walks millions of elements
ARGV[4]  time budget in microseconds: no key is started once the call has run this long
         (the clock is read every 16 keys); the keys left are the client's to send again
ARGV[5]  the keys to inspect first, packed in one binary string (one argument instead of one
         per key costs the server less to parse and the client less to send): per key,
         struct '<I4' (its length), then the key itself
ARGV[6…] optional, pages to read and inspect once those are all inspected: cursor, SCAN COUNT
         of the first page, MATCH ('' for none), TYPE ('' for none), longest name, bytes of
         names, most buckets in all (0: no limit; the end of a stretch, --max-ops). Later
         pages are sized to the budget left, at this call's cost per bucket so far. A page
         holding a name longer than `longest`, or taking the names read past `bytes`, is
         dropped unread: the client reads it itself with a plain SCAN
Returns { records, microseconds this call ran (from TIME), keys of ARGV[5] inspected, next
cursor, page records, page keys inspected, names left, SCAN COUNT asked for in all, keys the
pages held, bytes of their names }. next cursor is '' when no page was read (not asked for,
or the sent keys used the budget) and '-' when the first page was too heavy. records are
binary strings, per key inspected, in order: struct '<Bddd' (type code, pttl, bytes,
length), then for type code 7 (a module type) a byte with the type name's length and the
name; page records are the same with struct '<I4' (the name's length) before and the name
after each. Names left: the pages' keys not inspected (the budget ran out), packed as in
ARGV[5], for the client to send again. Type codes: 1 string, 2 list, 3 set, 4 zset, 5 hash,
6 stream, 0 gone. pttl as PTTL returns it (-1 none, -2 gone: deleted, expired, or of a slot
this cluster node does not serve); bytes and length -1 when not measured (strings get a
length only above 1 KB). One packed string instead of five reply elements per key: building
and parsing thousands of small replies cost more than the inspection itself.
]]
local call = redis.call
local pack = struct.pack
local sunpack = struct.unpack
local sub = string.sub
local t0 = call('TIME')
local measure = ARGV[1] == '1'
local exact = tonumber(ARGV[2])
local samples = ARGV[3]
local budget = tonumber(ARGV[4])
local sent = ARGV[5]

local code = { string = 1, list = 2, set = 3, zset = 4, hash = 5, stream = 6 }
local card = { list = 'LLEN', set = 'SCARD', zset = 'ZCARD', hash = 'HLEN', stream = 'XLEN' }

local function elapsed()
  local t1 = call('TIME')
  return (t1[1] - t0[1]) * 1000000 + (t1[2] - t0[2])
end

-- One key's type code, pttl, bytes and length, and its type's name for a module type.
local function inspect(k)
  local reply = redis.pcall('TYPE', k)
  local t = reply.ok
  if not t then
    -- A cluster node may hold keys of a slot it does not serve (a resharding under way, or
    -- one left unfinished): scripts may not touch them. They are counted as gone here, and
    -- by the node that serves them. Any other error ends the call.
    if not string.find(reply.err, 'non local key', 1, true) then error(reply) end
    t = 'none'
  end
  if t == 'none' then return 0, -2, -1, -1 end
  local len = -1
  local bytes = -1
  local c = card[t]
  if c then len = call(c, k) end
  if measure then
    if t == 'string' then
      -- SAMPLES means nothing to a string: two arguments fewer to convert, for most keys.
      bytes = call('MEMORY', 'USAGE', k)
    elseif len > exact then
      bytes = call('MEMORY', 'USAGE', k, 'SAMPLES', samples)
    else
      bytes = call('MEMORY', 'USAGE', k, 'SAMPLES', '0')
    end
    -- MEMORY USAGE answers nil for a key that expired a moment ago.
    if not bytes then bytes = -1 end
  end
  if t == 'string' and bytes > 1024 then len = call('STRLEN', k) end
  local tc = code[t]
  if tc then return tc, call('PTTL', k), bytes, len end
  return 7, call('PTTL', k), bytes, len, t
end

-- 1. The keys sent.
local out = {}
local n = 0
local o = 1
local spent = false
while o <= #sent do
  if n > 0 and n % 16 == 0 and elapsed() >= budget then
    spent = true
    break
  end
  local length = sunpack('<I4', sent, o)
  local k = sub(sent, o + 4, o + 3 + length)
  o = o + 4 + length
  n = n + 1
  local tc, pttl, size, len, module = inspect(k)
  out[n] = module and pack('<BdddB', 7, pttl, size, len, #module) .. module or pack('<Bddd', tc, pttl, size, len)
end

-- 2. Pages from the cursor, while the budget lasts.
local next, page, left, m, asked, found, total = '', {}, {}, 0, 0, 0, 0
-- Records already packed, by size, type and name length (a page holds no name over `longest`).
local same = {}
if ARGV[6] and not spent and (n == 0 or elapsed() < budget) then
  local first = tonumber(ARGV[7])
  local longest, cap, most = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
  local scan = { 'SCAN', ARGV[6], 'COUNT', first }
  if ARGV[8] ~= '' then scan[#scan + 1] = 'MATCH'; scan[#scan + 1] = ARGV[8] end
  if ARGV[9] ~= '' then scan[#scan + 1] = 'TYPE'; scan[#scan + 1] = ARGV[9] end
  local cursor, count, p = ARGV[6], first, 0
  repeat
    scan[2] = cursor
    scan[4] = count
    local read = call(unpack(scan))
    local keys = read[2]
    local heavy = false
    local bytes = total
    for i = 1, #keys do
      local l = #keys[i]
      bytes = bytes + l
      if l > longest or bytes > cap then
        heavy = true
        break
      end
    end
    -- A heavy page is dropped unread (the client reads it from `cursor` itself): '-' when
    -- it is the first, else the call ends before it.
    if heavy then
      next = asked == 0 and '-' or cursor
      break
    end
    total = bytes
    asked = asked + count
    cursor = read[1]
    next = cursor
    found = found + #keys
    for i = 1, #keys do
      local k = keys[i]
      if m > 0 and m % 16 == 0 and elapsed() >= budget then
        -- Out of budget: the rest of the page goes back as names only.
        for j = i, #keys do
          left[#left + 1] = pack('<I4', #keys[j])
          left[#left + 1] = keys[j]
        end
        break
      end
      m = m + 1
      local tc, pttl, size, len, module = inspect(k)
      local l = #k
      local h
      if pttl == -1 and len == -1 and not module and size < 2 ^ 34 then
        -- Most keys have no TTL and no length: their record is the same for the same name
        -- length, type and size, so it is packed once (struct.pack is costly next to the
        -- commands: bench/README.md, scan, "cheaper records in inspect-keys.lua").
        local id = (size * 8 + tc) * 65536 + l
        h = same[id]
        if not h then
          h = pack('<I4Bddd', l, tc, -1, size, -1)
          same[id] = h
        end
      elseif module then
        h = pack('<I4BdddB', l, 7, pttl, size, len, #module) .. module
      else
        h = pack('<I4Bddd', l, tc, pttl, size, len)
      end
      page[p + 1] = h
      page[p + 2] = k
      p = p + 2
    end
    if m < found then break end
    -- The next page fills the budget left at this call's cost per bucket so far; less than
    -- a quarter of the first page is not worth a page's fixed cost.
    local spentUs = elapsed()
    count = math.min(first, math.floor((budget - spentUs) * asked / math.max(spentUs, 1)))
    if most > 0 then count = math.min(count, most - asked) end
  until cursor == '0' or count < first / 4 or count < 1
end
return { table.concat(out), elapsed(), n, next, table.concat(page), m, table.concat(left), asked, found, total }
