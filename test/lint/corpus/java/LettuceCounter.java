package com.example.counters;

import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

public class LettuceCounter {
    private final RedisCommands<String, String> commands;

    public LettuceCounter(String uri) {
        RedisClient client = RedisClient.create(uri);
        StatefulRedisConnection<String, String> connection = client.connect();
        this.commands = connection.sync();
    }

    public void hit(String page) {
        commands.incr("hits:" + page); // @expect no-ttl
    }

    public void token(String id) {
        commands.set("token:" + id, "1", SetArgs.Builder.ex(60));
        commands.set("token:" + id + ":forever", "1"); // @expect no-ttl
    }

    public void stats(String id) {
        commands.hset("stats:" + id, "a", "1"); // @expect non-atomic-expire
        commands.expire("stats:" + id, 60); // non-atomic: reported on the HSET line above
    }
}
