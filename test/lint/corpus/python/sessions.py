import json
import uuid

import redis
from redis import Redis

SESSION_PREFIX = "session:"
SESSION_TTL = 24 * 3600

r = redis.Redis.from_url("redis://localhost:6379/0")
pool_client = Redis(host="localhost", port=6379, decode_responses=True)


def create_session(user_id: str) -> str:
    sid = uuid.uuid4().hex
    r.set(f"{SESSION_PREFIX}{sid}", json.dumps({"user": user_id}))  # @expect no-ttl
    return sid


def create_session_with_ttl(user_id: str) -> str:
    sid = uuid.uuid4().hex
    r.set(f"session:{sid}", user_id, ex=SESSION_TTL)
    return sid


def create_session_positional(user_id: str, sid: str) -> None:
    r.set("session:" + sid, user_id, 3600)


def lock(name: str) -> bool:
    return bool(r.set(f"lock:{name}", "1", nx=True))  # @expect no-ttl


def lock_with_ttl(name: str) -> bool:
    return bool(r.set(f"lock:{name}", "1", nx=True, px=30_000))


def lock_with_none(name: str) -> bool:
    return bool(r.set(f"lock:{name}", "1", nx=True, ex=None))  # @expect no-ttl


def cache_page(url: str, html: str) -> None:
    r.setex(f"cache:page:{url}", 300, html)


def save_profile(user_id: str, profile: dict) -> None:
    # Durable under the policy.
    r.hset(f"user:{user_id}:profile", mapping=profile)


def count_visit(page: str) -> int:
    return pool_client.incr("visits:%s" % page)  # @expect no-ttl


def rate_limit(ip: str, limit: int) -> bool:
    key = f"ratelimit:{ip}"
    count = r.incr(key)  # @expect non-atomic-expire
    if count == 1:
        r.expire(key, 60)
    return count <= limit


def rate_limit_atomic(ip: str, limit: int) -> bool:
    key = f"ratelimit:{ip}"
    pipe = r.pipeline()
    pipe.incr(key)
    pipe.expire(key, 60, nx=True)
    count, _ = pipe.execute()
    return count <= limit


def push_event(user_id: str, event: str) -> None:
    with r.pipeline() as pipe:
        pipe.lpush(f"events:{user_id}", event)
        pipe.ltrim(f"events:{user_id}", 0, 99)
        pipe.expire(f"events:{user_id}", 7 * 86400)
        pipe.execute()


def push_event_forever(user_id: str, event: str) -> None:
    with r.pipeline(transaction=False) as pipe:
        pipe.rpush(f"feed:{user_id}", event)  # @expect no-ttl
        pipe.execute()


def chained(user_id: str) -> None:
    r.pipeline().sadd(f"online:{user_id}", "1").expire(f"online:{user_id}", 60).execute()


def tag(item: str, tags: list[str]) -> None:
    r.sadd("tags:{}".format(item), *tags)  # @expect no-ttl


def score(board: str, player: str, points: float) -> None:
    r.zadd(f"board:{board}", {player: points})  # @expect no-ttl


def stream(event: dict) -> None:
    r.xadd("events:stream", event)  # @expect no-ttl


def raw(key: str) -> None:
    r.execute_command("SET", f"raw:{key}", "1")  # @expect no-ttl


def unrelated(headers: dict, items: set, data: list) -> None:
    headers["x"] = "1"
    headers.setdefault("y", "2")
    items.add("z")
    data.append(1)
    d = {}
    d.update({"a": 1})


def config(name: str, value: str) -> None:
    r.set(f"config:{name}", value)


def suppressed(job: str) -> None:
    # keywarden-ignore-next-line no-ttl -- the job registry is pruned by the scheduler
    r.sadd("jobs:registry", job)
