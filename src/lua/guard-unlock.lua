-- guard-unlock: release a cache-aside lock only if this caller still holds it.
--
-- KEYS[1]  the lock key
-- ARGV[1]  the token written when the lock was taken (SET lock token NX PX ms)
-- Returns  1 when the lock was released, 0 when it had expired or belongs to someone else.
--
-- A plain DEL would free a lock that expired and was taken by another caller meanwhile.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
