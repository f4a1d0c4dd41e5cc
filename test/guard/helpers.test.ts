import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { cacheAside, guard, rateLimit, session, type GuardViolation } from '../../src/guard/index.js';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';

let server: RedisServer;
let cluster: RedisCluster;
const closers: Array<() => Promise<unknown> | void> = [];

before(async () => {
  server = await startRedis();
  cluster = await startCluster();
});
after(async () => {
  for (const close of closers) await close();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

/** Two independent connections (two "processes") per client kind, plus a raw ioredis inspector. */
const KINDS: Record<string, () => Promise<object>> = {
  'ioredis standalone': async () => {
    const c = new Redis(server.url);
    closers.push(() => c.disconnect());
    return c;
  },
  'ioredis cluster': async () => {
    const c = new Cluster([{ host: '127.0.0.1', port: cluster.masters[0].port }]);
    closers.push(() => c.disconnect());
    return c;
  },
  'node-redis standalone': async () => {
    const c = await createClient({ url: server.url }).connect();
    closers.push(() => c.close());
    return c;
  },
  'node-redis cluster': async () => {
    const c = createCluster({ rootNodes: [{ url: cluster.masters[0].url }] });
    await c.connect();
    closers.push(() => c.close());
    return c;
  },
};

function inspector(label: string): Redis | Cluster {
  const c = label.includes('cluster') ? new Cluster([{ host: '127.0.0.1', port: cluster.masters[0].port }]) : new Redis(server.url);
  closers.push(() => c.disconnect());
  return c;
}

const tag = () => `{${randomUUID().slice(0, 8)}}`;

for (const [label, connect] of Object.entries(KINDS)) {
  describe(`helpers · ${label}`, () => {
    let a: object;
    let b: object;
    let raw: Redis | Cluster;
    before(async () => {
      a = await connect();
      b = await connect();
      raw = inspector(label);
    });

    it('cacheAside: many concurrent misses across two connections run the loader once', async () => {
      const key = `cache:${tag()}:user`;
      let loads = 0;
      const loader = async () => {
        loads++;
        await new Promise((r) => setTimeout(r, 80));
        return { name: 'ada', n: loads };
      };
      const opts = { ttl: '1h', jitter: '20%', lockTtl: '5s' };
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => cacheAside(i % 2 ? a : b, key, loader, opts)));
      assert.equal(loads, 1);
      for (const r of results) assert.deepEqual(r, { name: 'ada', n: 1 });
      const ttl = await raw.pttl(key);
      assert.ok(ttl > 3_600_000 * 0.8 - 60_000 && ttl <= 3_600_000, `jittered TTL ${ttl}`);
      assert.equal(await raw.exists(`${key}:lock`), 0, 'lock released');
      assert.deepEqual(await cacheAside(a, key, loader, opts), { name: 'ada', n: 1 });
      assert.equal(loads, 1, 'a hit does not load');
    });

    it('cacheAside: jitter spreads the TTLs of keys written together', async () => {
      const t = tag();
      const ttls = new Set<number>();
      for (let i = 0; i < 10; i++) {
        await cacheAside(a, `cache:${t}:${i}`, () => i, { ttl: 1000, jitter: 0.5 });
        const ttl = await raw.pttl(`cache:${t}:${i}`);
        assert.ok(ttl > 500_000 - 60_000 && ttl <= 1_000_000);
        ttls.add(Math.round(ttl / 1000));
      }
      assert.ok(ttls.size > 3);
    });

    it('cacheAside: serves a stale value at once and refreshes it in the background', async () => {
      const key = `cache:${tag()}:stale`;
      let version = 0;
      const loader = () => ++version;
      const opts = { ttl: '1m', staleWhileRevalidate: '1m' };
      assert.equal(await cacheAside(a, key, loader, opts), 1);
      const ttl = await raw.pttl(key);
      assert.ok(ttl > 110_000 && ttl <= 120_000, 'stored for ttl + staleWhileRevalidate');
      await raw.pexpire(key, 30_000); // now past its fresh ttl
      assert.equal(await cacheAside(b, key, loader, opts), 1, 'the stale value, at once');
      for (let i = 0; i < 50 && (await raw.get(key)) !== '2'; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(await raw.get(key), '2', 'refreshed in the background');
      assert.ok((await raw.pttl(key)) > 110_000);
    });

    it('cacheAside: a failing loader releases the lock and the next caller loads', async () => {
      const key = `cache:${tag()}:fail`;
      await assert.rejects(
        cacheAside(a, key, () => Promise.reject(new Error('db down')), { ttl: 60 }),
        /db down/,
      );
      assert.equal(await raw.exists(`${key}:lock`), 0);
      assert.equal(await cacheAside(b, key, () => 'ok', { ttl: 60 }), 'ok');
    });

    it('rateLimit fixed window: atomic counter with its TTL, exact under concurrency', async () => {
      const key = `rate:${tag()}:ip`;
      const seq = [];
      for (let i = 0; i < 5; i++) seq.push(await rateLimit(a, key, { limit: 3, window: '10s' }));
      assert.deepEqual(
        seq.map((r) => r.allowed),
        [true, true, true, false, false],
      );
      assert.deepEqual(
        seq.map((r) => r.remaining),
        [2, 1, 0, 0, 0],
      );
      for (const r of seq) assert.ok(r.resetMs > 9_000 && r.resetMs <= 10_000);
      const ttl = await raw.pttl(key);
      assert.ok(ttl > 0 && ttl <= 10_000);

      const burst = `rate:${tag()}:burst`;
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => rateLimit(i % 2 ? a : b, burst, { limit: 7, window: 60 })));
      assert.equal(results.filter((r) => r.allowed).length, 7);
    });

    it('rateLimit sliding window: exact count over the last window, frees slots as they age out', async () => {
      const key = `rate:${tag()}:slide`;
      const opts = { limit: 3, window: '300ms', algorithm: 'sliding' as const };
      const first = await Promise.all([0, 1, 2, 3, 4].map((i) => rateLimit(i % 2 ? a : b, key, opts)));
      assert.equal(first.filter((r) => r.allowed).length, 3);
      const denied = first.find((r) => !r.allowed);
      assert.ok(denied && denied.remaining === 0 && denied.resetMs > 0 && denied.resetMs <= 300);
      const ttl = await raw.pttl(key);
      assert.ok(ttl > 0 && ttl <= 300);
      await new Promise((r) => setTimeout(r, (denied?.resetMs ?? 300) + 20));
      const later = await rateLimit(a, key, opts);
      assert.equal(later.allowed, true);
    });

    it('session: created with its TTL, extended on every read, replaced, touched and destroyed', async () => {
      const sessions = session<{ user: string }>(a, { ttl: '30m', prefix: `session:${tag()}:` });
      const id = await sessions.create({ user: 'ada' });
      assert.match(id, /^[A-Za-z0-9_-]{32}$/);
      const key = sessions.key(id);
      assert.ok((await raw.pttl(key)) > 1_790_000);
      await raw.pexpire(key, 1000);
      assert.deepEqual(await sessions.get(id), { user: 'ada' });
      assert.ok((await raw.pttl(key)) > 1_790_000, 'GETEX slid the expiry');
      assert.equal(await sessions.set(id, { user: 'grace' }), true);
      assert.deepEqual(await session<{ user: string }>(b, { ttl: '30m', prefix: sessions.key('') }).get(id), { user: 'grace' });
      await raw.pexpire(key, 1000);
      assert.equal(await sessions.touch(id), true);
      assert.ok((await raw.pttl(key)) > 1_790_000);
      await assert.rejects(sessions.create({ user: 'eve' }, id), /already exists/);
      assert.equal(await sessions.destroy(id), true);
      assert.equal(await sessions.get(id), null);
      assert.equal(await sessions.set(id, { user: 'x' }), false, 'set never recreates a destroyed session');
      assert.equal(await sessions.touch(id), false);
    });
  });
}

describe('helpers · through a strict guard', () => {
  it('every helper write already carries its TTL, so strict mode lets them all through', async () => {
    const client = new Redis(server.url);
    closers.push(() => client.disconnect());
    const seen: GuardViolation[] = [];
    const redis = guard(client, {
      policy: {
        rules: [
          { match: 'cache:*', ttl: '1h' },
          { match: 'rate:*', ttl: '1h' },
          { match: 'session:*', ttl: '24h' },
        ],
      },
      mode: 'strict',
      onViolation: (v) => seen.push(v),
    });
    const t = tag();
    assert.equal(await cacheAside(redis, `cache:${t}:a`, () => 1, { ttl: '1m' }), 1);
    assert.equal((await rateLimit(redis, `rate:${t}:a`, { limit: 1, window: '1m' })).allowed, true);
    assert.equal((await rateLimit(redis, `rate:${t}:b`, { limit: 1, window: '1m', algorithm: 'sliding' })).allowed, true);
    const sessions = session(redis, { ttl: '1h', prefix: `session:${t}:` });
    assert.deepEqual(await sessions.get(await sessions.create({ ok: true })), { ok: true });
    // Only the Lua scripts (lock release, sliding window) are reported, as uninspectable.
    assert.ok(seen.length >= 2);
    assert.ok(seen.every((v) => v.kind === 'script'));
  });
});
