package com.example.sessions;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.servlet.http.HttpServletResponse;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.stereotype.Service;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.params.SetParams;

@Service
public class SessionService {
    private static final String SESSION_PREFIX = "session:";

    @Autowired
    private StringRedisTemplate redisTemplate;

    private final JedisPool pool = new JedisPool("localhost", 6379);

    public String create(String userId) {
        String id = UUID.randomUUID().toString();
        redisTemplate.opsForValue().set(SESSION_PREFIX + id, userId); // @expect no-ttl
        return id;
    }

    public String createWithTtl(String userId) {
        String id = UUID.randomUUID().toString();
        redisTemplate.opsForValue().set(SESSION_PREFIX + id, userId, Duration.ofHours(24));
        redisTemplate.opsForValue().set("session:legacy:" + id, userId, 24, TimeUnit.HOURS);
        return id;
    }

    public void createForever(String id, String userId) {
        redisTemplate.opsForValue().set("session:" + id, userId, Duration.ZERO); // @expect ttl-zero
    }

    public boolean lock(String name) {
        return Boolean.TRUE.equals(redisTemplate.opsForValue().setIfAbsent("lock:" + name, "1")); // @expect no-ttl
    }

    public boolean lockWithTtl(String name) {
        return Boolean.TRUE.equals(redisTemplate.opsForValue().setIfAbsent("lock:" + name, "1", Duration.ofSeconds(30)));
    }

    public void profile(String userId, Map<String, String> fields) {
        // Durable under the policy.
        redisTemplate.opsForHash().putAll("user:" + userId + ":profile", fields);
    }

    public void cart(String id) {
        redisTemplate.opsForHash().put("cart:" + id, "items", "0"); // @expect no-ttl
    }

    public void cartWithExpire(String id) {
        redisTemplate.opsForHash().put("cart:" + id, "items", "0"); // @expect non-atomic-expire
        redisTemplate.expire("cart:" + id, Duration.ofHours(1));
    }

    public void follow(String a, String b) {
        redisTemplate.opsForSet().add("followers:" + b, a); // @expect no-ttl
    }

    public void visit(String page) {
        redisTemplate.opsForValue().increment(String.format("visits:%s", page)); // @expect no-ttl
    }

    public void jedisWrites(String id) {
        try (Jedis jedis = pool.getResource()) {
            jedis.set("token:" + id, "1"); // @expect no-ttl
            jedis.set("token:" + id, "1", SetParams.setParams().ex(900));
            jedis.setex("cache:" + id, 300, "v");
            jedis.lpush("queue:" + id, "job"); // @expect no-ttl
        }
    }

    public long rateLimit(Jedis jedis, String ip) {
        String key = "ratelimit:" + ip;
        long count = jedis.incr(key); // @expect non-atomic-expire
        if (count == 1) {
            jedis.expire(key, 60);
        }
        return count;
    }

    public void rateLimitAtomic(Jedis jedis, String ip) {
        String key = "ratelimit:" + ip;
        Transaction tx = jedis.multi();
        tx.incr(key);
        tx.expire(key, 60);
        tx.exec();
    }

    public void pipelined(Jedis jedis, String user, String event) {
        Pipeline p = jedis.pipelined();
        p.rpush("events:" + user, event);
        p.expire("events:" + user, 604800);
        p.sync();
    }

    public void pipelinedForever(Jedis jedis, String user, String event) {
        Pipeline p = jedis.pipelined();
        p.zadd("board:" + user, 1.0, event); // @expect no-ttl
        p.sync();
    }

    public void config(String name, String value) {
        redisTemplate.opsForValue().set("config:" + name, value);
    }

    public void unrelated(HttpServletResponse response, Map<String, String> map, java.util.Set<String> set) {
        response.setHeader("X-Frame-Options", "DENY");
        map.put("k", "v");
        set.add("x");
        System.setProperty("a", "b");
    }

    public void suppressed(String job) {
        // keywarden-ignore-next-line no-ttl -- the registry is pruned by the scheduler
        redisTemplate.opsForSet().add("jobs:registry", job);
    }
}
