#!lua flags=allow-oom,allow-cross-slot-keys
--[[
fix-undo.lua: take back TTLs keywarden fix set, atomically per key: PERSIST only while the
key's absolute expiry (PEXPIRETIME) is still exactly the one fix recorded right after its
write. A key the application has since given another TTL (refreshed, a sliding session),
re-created with a TTL of its own, or deleted is left alone.

KEYS: none. The keys were written on this very node (the journal says which).
ARGV[1] '1' to PERSIST, '0' for a dry run (check only)
ARGV[2], ARGV[3], ARGV[4], ...  triples: key, and the earliest and latest absolute expiry
  (unix ms) that count as the one fix gave it: both that very expiry, except for a key a
  resharding moved to this node since (MIGRATE re-bases the expiry on this server's clock)
Returns: a string with one byte per key, in order:
  'u' undone (PERSIST; dry run: would be), 'g' key gone, 'p' key has no TTL,
  'l' expires later than fix set (the application refreshed or extended it),
  's' expires at another, earlier time (re-created or changed since),
  'm' not on this node any more (a cluster slot moved since the caller read the slot map:
      the server refuses the key, and the caller places it again)
A refused key must not end the script: the PERSISTs already done would stay done, and the
whole batch would be sent again (then reporting those keys as having no TTL).
]]
local apply = ARGV[1] == '1'
local out = {}
for i = 2, #ARGV, 3 do
  local key = ARGV[i]
  local at = redis.pcall('PEXPIRETIME', key)
  local code
  if type(at) == 'table' then code = 'm'
  elseif at == -2 then code = 'g'
  elseif at == -1 then code = 'p'
  elseif at > tonumber(ARGV[i + 2]) then code = 'l'
  elseif at < tonumber(ARGV[i + 1]) then code = 's'
  else
    if apply then redis.call('PERSIST', key) end
    code = 'u'
  end
  out[#out + 1] = code
end
return table.concat(out)
