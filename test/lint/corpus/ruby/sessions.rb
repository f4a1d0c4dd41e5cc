require "json"
require "redis"
require "securerandom"

SESSION_PREFIX = "session:"

class SessionStore
  def initialize(url)
    @redis = Redis.new(url: url)
    @ttl = 24 * 3600
  end

  def create(user_id)
    id = SecureRandom.hex(16)
    @redis.set("#{SESSION_PREFIX}#{id}", { user: user_id }.to_json) # @expect no-ttl
    id
  end

  def create_with_ttl(user_id)
    id = SecureRandom.hex(16)
    @redis.set("session:#{id}", user_id, ex: @ttl)
    id
  end

  def lock(name)
    @redis.set("lock:#{name}", 1, nx: true) # @expect no-ttl
  end

  def lock_with_ttl(name)
    @redis.set("lock:#{name}", 1, nx: true, px: 30_000)
  end

  def cache_page(url, html)
    @redis.setex("cache:page:#{url}", 300, html)
  end

  def save_profile(user_id, profile)
    # Durable under the policy.
    @redis.mapped_hmset("user:#{user_id}:profile", profile)
  end

  def cart(id)
    @redis.hset("cart:" + id, "items", 0) # @expect no-ttl
  end

  def rate_limit(ip, limit)
    key = "ratelimit:#{ip}"
    count = @redis.incr(key) # @expect non-atomic-expire
    @redis.expire(key, 60) if count == 1
    count <= limit
  end

  def rate_limit_atomic(ip, limit)
    key = "ratelimit:#{ip}"
    count, = @redis.multi do |tx|
      tx.incr(key)
      tx.expire(key, 60, nx: true)
    end
    count <= limit
  end

  def push_event(user_id, event)
    @redis.pipelined do |pipe|
      pipe.lpush("events:#{user_id}", event)
      pipe.ltrim("events:#{user_id}", 0, 99)
      pipe.expire("events:#{user_id}", 7 * 86_400)
    end
  end

  def push_event_forever(user_id, event)
    @redis.pipelined do |pipe|
      pipe.rpush("feed:#{user_id}", event) # @expect no-ttl
    end
  end

  def tag(item, tag)
    @redis.sadd("tags:#{item}", tag) # @expect no-ttl
  end

  def score(board, player, points)
    @redis.zadd("board:#{board}", points, player) # @expect no-ttl
  end

  def config(name, value)
    @redis.set("config:#{name}", value)
  end

  def suppressed(job)
    # keywarden-ignore-next-line no-ttl -- the registry is pruned by the scheduler
    @redis.sadd("jobs:registry", job)
  end
end

$redis = Redis.new

def count_visit(page)
  $redis.incrby("visits:#{page}", 1) # @expect no-ttl
end

def raw(id)
  $redis.call(:set, "raw:#{id}", "1") # @expect no-ttl
  $redis.call("set", "raw2:#{id}", "1", "ex", "60")
end

def stream(event)
  stream_client = Redis.new
  stream_client.xadd("events:stream", event) # @expect no-ttl
end

def unrelated(headers, params, list)
  headers.set("x", 1)
  cache = {}
  cache.store("k", 1)
  params.merge!(a: 1)
  list.push(1)
  list.append(2)
  ENV.fetch("REDIS_URL")
end
