#!lua flags=allow-oom,allow-cross-slot-keys
--[[
fix-undo.lua: take back TTLs keywarden fix set, atomically per key: PERSIST only when the
key's remaining TTL is still one fix could have set (at most the TTL it set, and not less
than what is left of it). A key the application has since given another TTL, re-created,
or deleted is left alone.

KEYS: none. The keys were written on this very node (the journal says which).
ARGV[1] '1' to PERSIST, '0' for a dry run (check only)
ARGV[2], ARGV[3], ARGV[4], ...  triples: key, highest and lowest remaining TTL (ms) that
  count as "still the one fix set"
Returns: a string with one byte per key, in order:
  'u' undone (PERSIST; dry run: would be), 'g' key gone, 'p' key has no TTL,
  'l' TTL longer than fix set, 's' TTL shorter than what fix set would have left,
  'm' not on this node any more (a cluster slot moved since the caller read the slot map:
      the server refuses the key, and the caller places it again)
A refused key must not end the script: the PERSISTs already done would stay done, and the
whole batch would be sent again (then reporting those keys as having no TTL).
]]
local apply = ARGV[1] == '1'
local out = {}
for i = 2, #ARGV, 3 do
  local key = ARGV[i]
  local pttl = redis.pcall('PTTL', key)
  local code
  if type(pttl) == 'table' then code = 'm'
  elseif pttl == -2 then code = 'g'
  elseif pttl == -1 then code = 'p'
  elseif pttl > tonumber(ARGV[i + 1]) then code = 'l'
  elseif pttl < tonumber(ARGV[i + 2]) then code = 's'
  else
    if apply then redis.call('PERSIST', key) end
    code = 'u'
  end
  out[#out + 1] = code
end
return table.concat(out)
