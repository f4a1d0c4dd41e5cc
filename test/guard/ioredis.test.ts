import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { guard } from '../../src/guard/index.js';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';
import { ioredisCluster, ioredisStandalone, type Driver } from './drivers.js';
import { guardSuite, POLICY } from './suite.js';

let server: RedisServer;
let cluster: RedisCluster;
let standalone: Driver;
let clustered: Driver;

before(async () => {
  server = await startRedis();
  cluster = await startCluster();
  standalone = await ioredisStandalone(server);
  clustered = await ioredisCluster(cluster);
});
after(async () => {
  await standalone?.close();
  await clustered?.close();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

describe('guard · ioredis standalone', () => guardSuite(() => standalone));
describe('guard · ioredis cluster', () => guardSuite(() => clustered));

describe('guard · ioredis API surface', () => {
  it('keeps the ioredis method API: object arguments, Buffer replies, callbacks, chained batches', async () => {
    const raw = new Redis(server.url);
    const redis = guard(new Redis(server.url), { policy: POLICY });
    try {
      assert.equal(await redis.hset('t:api:h', { a: 1, b: 2 }), 2);
      assert.ok((await raw.pttl('t:api:h')) > 3_500_000);
      assert.equal(await redis.set('t:api:s', 'v', 'EX', 60), 'OK');
      assert.ok((await raw.pttl('t:api:s')) <= 60_000);
      assert.deepEqual(await redis.incrby('t:api:n', 2), await raw.incrby('t:api:n2', 2));
      assert.deepEqual(await redis.getsetBuffer('t:api:b', 'x'), null);
      assert.deepEqual(await redis.getsetBuffer('t:api:b', 'y'), Buffer.from('x'));
      const viaCallback = await new Promise((resolve, reject) => redis.lpush('t:api:l', 'a', (err, n) => (err ? reject(err) : resolve(n))));
      assert.equal(viaCallback, 1);
      assert.ok((await raw.pttl('t:api:l')) > 3_500_000);
      const counted = redis.pipeline().get('t:api:s');
      assert.equal(counted.length, 1, 'pipeline.length counts queued commands');
      counted.hset('t:api:h3', 'f', 'v');
      assert.equal(counted.length, 2, "the guard's PEXPIRE is not counted");
      assert.deepEqual(await counted.exec(), [
        [null, 'v'],
        [null, 1],
      ]);
      const replies = await redis.pipeline().sadd('t:api:set', 'a').zadd('t:api:z', 1, 'm').get('t:api:s').exec();
      assert.deepEqual(replies, [
        [null, 1],
        [null, 1],
        [null, 'v'],
      ]);
      const tx = await redis.multi().hincrby('t:api:h2', 'f', 3).hgetall('t:api:h2').exec();
      assert.deepEqual(tx, [
        [null, 3],
        [null, { f: '3' }],
      ]);
      assert.ok((await raw.pttl('t:api:h2')) > 3_500_000);
    } finally {
      raw.disconnect();
      redis.disconnect();
    }
  });

  it('guards multi({ pipeline: false }) and auto-pipelining, and hides the added replies', async () => {
    const raw = new Redis(server.url);
    const redis = guard(new Redis(server.url), { policy: POLICY });
    const auto = guard(new Redis(server.url, { enableAutoPipelining: true }), { policy: POLICY });
    try {
      await redis.multi({ pipeline: false });
      await redis.hset('t:manual:h', 'f', 'v');
      await redis.incr('t:manual:n');
      assert.deepEqual(await redis.exec(), [
        [null, 1],
        [null, 1],
      ]);
      assert.ok((await raw.pttl('t:manual:h')) > 3_500_000);
      assert.ok((await raw.pttl('t:manual:n')) > 3_500_000);
      const counts = await Promise.all(Array.from({ length: 20 }, (_, i) => auto.hset(`t:auto:${i}`, 'f', String(i))));
      assert.deepEqual(counts, Array(20).fill(1));
      for (let i = 0; i < 20; i++) assert.ok((await raw.pttl(`t:auto:${i}`)) > 3_500_000);
    } finally {
      raw.disconnect();
      redis.disconnect();
      auto.disconnect();
    }
  });

  it('loads the policy from a keywarden.yml path and fails fast on a bad one', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kw-guard-'));
    const file = join(dir, 'keywarden.yml');
    writeFileSync(file, 'rules:\n  - match: "session:*"\n    ttl: 24h\n');
    const raw = new Redis(server.url);
    const redis = guard(new Redis(server.url), { policy: file });
    try {
      await redis.hset('session:yml', 'u', '1');
      const ttl = await raw.pttl('session:yml');
      assert.ok(ttl > 86_000_000 && ttl <= 86_400_000);
      writeFileSync(file, 'rules:\n  - match: "session:*"\n    ttl: 2x\n');
      assert.throws(() => guard(raw, { policy: file }), /keywarden\.yml:3/);
      assert.throws(() => guard(raw, { policy: join(dir, 'missing.yml') }), /no such file/);
      assert.throws(() => guard({}, { policy: POLICY }), /unsupported client; supported: ioredis 5 and 6/);
    } finally {
      raw.disconnect();
      redis.disconnect();
    }
  });
});
