import redis.asyncio as aioredis
from django.core.cache import cache, caches
from redis.asyncio import Redis


class TokenStore:
    def __init__(self, client: Redis, ttl: int) -> None:
        self.redis = client
        self.ttl = ttl

    async def save(self, token: str, user: str) -> None:
        await self.redis.set(f"token:{token}", user, ex=self.ttl)

    async def save_forever(self, token: str, user: str) -> None:
        await self.redis.set(f"token:{token}", user)  # @expect no-ttl

    async def remember(self, token: str) -> None:
        await self.redis.hincrby(f"uses:{token}", "count", 1)  # @expect no-ttl


async def make_client() -> None:
    client = aioredis.from_url("redis://localhost")
    await client.incrby("jobs:counter", 5)  # @expect no-ttl
    async with client.pipeline(transaction=True) as pipe:
        await pipe.hset("job:1", "state", "queued").expire("job:1", 3600).execute()


def cache_view(request, key: str, html: str) -> None:
    cache.set(f"view:{key}", html)
    cache.set(f"view:{key}", html, timeout=60)
    cache.set(f"view:{key}", html, timeout=None)  # @expect ttl-zero
    cache.set(f"view:{key}", html, None)  # @expect ttl-zero
    caches["sessions"].set(f"sess:{key}", html, timeout=None)  # @expect ttl-zero
    cache.add(f"once:{key}", 1)


def local_cache(key: str) -> None:
    memo = {}
    memo[key] = 1
    settings_cache = object()
    print(settings_cache, memo)
