from typing import Any

import redis

client = redis.StrictRedis(host="cache", port=6379)


class Limiter:
    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn
        self.counts: dict[str, int] = {}

    def hit(self, user: str) -> int:
        self.counts[user] = self.counts.get(user, 0) + 1
        return self.conn.incr(f"hits:{user}")  # @expect no-ttl

    def hit_window(self, user: str) -> int:
        key = f"window:{user}"
        pipe = self.conn.pipeline()
        pipe.incr(key)
        pipe.expire(key, 60)
        return pipe.execute()[0]

    def order(self, order_id: str) -> None:
        self.conn.hset(f"order:{order_id}", "status", "new")  # @expect non-atomic-expire
        self.conn.expire(f"order:{order_id}", 86400)


def options(key: str, value: Any, **kwargs: Any) -> None:
    # Options passed through: their TTL is unknown here, so no finding.
    client.set(key, value, **kwargs)


def reads(key: str) -> None:
    client.get(key)
    client.hgetall(key)
    client.smembers(key)


def plain_objects(key: str) -> None:
    seen = set()
    seen.add(key)
    queue = []
    queue.append(key)
    stats = {}
    stats.setdefault(key, 0)
