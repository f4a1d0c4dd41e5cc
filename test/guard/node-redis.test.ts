import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, RESP_TYPES } from 'redis';
import { commandOptions, createClient as createClient4, defineScript } from 'redis4';
import { guard, GuardViolationError, type GuardViolation } from '../../src/guard/index.js';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';
import { nodeRedisCluster, nodeRedisStandalone, type Driver } from './drivers.js';
import { guardSuite, POLICY } from './suite.js';

let server: RedisServer;
let cluster: RedisCluster;
let standalone: Driver;
let clustered: Driver;

before(async () => {
  server = await startRedis();
  cluster = await startCluster();
  standalone = await nodeRedisStandalone(server);
  clustered = await nodeRedisCluster(cluster);
});
after(async () => {
  await standalone?.close();
  await clustered?.close();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

describe('guard · node-redis standalone', () => guardSuite(() => standalone));
describe('guard · node-redis cluster', () => guardSuite(() => clustered));

describe('guard · node-redis API surface', () => {
  it('keeps the node-redis method API: option objects, typed multi, type mappings, duplicates', async () => {
    const raw = await createClient({ url: server.url }).connect();
    const redis = guard(raw, { policy: POLICY });
    try {
      assert.equal(await redis.hSet('t:napi:h', { a: 1, b: 2 }), 2);
      assert.ok((await raw.pTTL('t:napi:h')) > 3_500_000);
      assert.equal(await redis.set('t:napi:s', 'v', { EX: 60 }), 'OK');
      assert.ok((await raw.pTTL('t:napi:s')) <= 60_000);
      assert.deepEqual(await redis.incrByFloat('t:napi:f', 1.5), await raw.incrByFloat('t:napi:f-raw', 1.5));
      assert.deepEqual(await redis.hGetAll('t:napi:h'), await raw.hGetAll('t:napi:h'));
      const tx = await redis.multi().hIncrBy('t:napi:h2', 'f', 3).hGetAll('t:napi:h2').sAdd('t:napi:set', ['a', 'b']).exec();
      const rawTx = await raw.multi().hIncrBy('t:napi:h2-raw', 'f', 3).hGetAll('t:napi:h2-raw').sAdd('t:napi:set-raw', ['a', 'b']).exec();
      assert.deepEqual(tx, rawTx);
      assert.ok((await raw.pTTL('t:napi:h2')) > 3_500_000);
      assert.ok((await raw.pTTL('t:napi:set')) > 3_500_000);
      const piped = await redis.multi().lPush('t:napi:l', 'x').get('t:napi:s').execAsPipeline();
      assert.deepEqual(piped, [1, 'v']);
      assert.ok((await raw.pTTL('t:napi:l')) > 3_500_000);
      const buffers = redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
      assert.deepEqual(await buffers.getSet('t:napi:b', 'x'), null);
      assert.ok((await raw.pTTL('t:napi:b')) > 3_500_000);
      assert.deepEqual(await buffers.get('t:napi:b'), Buffer.from('x'));
      await assert.rejects(guard(raw, { policy: POLICY, mode: 'strict' }).withTypeMapping({}).zAdd('t:napi:z', { score: 1, value: 'm' }), GuardViolationError);
      const dup = redis.duplicate();
      await dup.connect();
      await dup.pfAdd('t:napi:hll', 'a');
      await dup.close();
      assert.ok((await raw.pTTL('t:napi:hll')) > 3_500_000);
      assert.equal(await raw.pTTL('t:napi:other-raw'), -2);
      await raw.hSet('t:napi:raw', 'f', 'v');
      assert.equal(await raw.pTTL('t:napi:raw'), -1, 'the client passed to guard stays unguarded');
    } finally {
      await raw.close();
    }
  });

  it('runs the same Multi twice without adding PX twice, and never edits arrays given to addCommand', async () => {
    const raw = await createClient({ url: server.url }).connect();
    const redis = guard(raw, { policy: POLICY });
    try {
      const args = ['SET', 't:twice:s', 'v'];
      // addCommand queues the caller's own array (copied before PX); set() an array node-redis made (PX pushed onto it).
      const multi = redis.multi().addCommand(args).hSet('t:twice:h', 'f', 'v').set('t:twice:m', 'v');
      assert.deepEqual(await multi.execAsPipeline(), ['OK', 1, 'OK']);
      assert.deepEqual(await multi.execAsPipeline(), ['OK', 0, 'OK']);
      assert.deepEqual(await multi.exec(), ['OK', 0, 'OK']);
      assert.deepEqual(args, ['SET', 't:twice:s', 'v']);
      assert.ok((await raw.pTTL('t:twice:s')) > 3_500_000);
      assert.ok((await raw.pTTL('t:twice:h')) > 3_500_000);
      assert.ok((await raw.pTTL('t:twice:m')) > 3_500_000);
    } finally {
      await raw.close();
    }
  });

  it('can guard a client before it connects (connect, events and quit go to the real client)', async () => {
    const redis = guard(createClient({ url: server.url }), { policy: POLICY });
    let ready = false;
    redis.on('ready', () => (ready = true));
    await redis.connect();
    try {
      assert.equal(ready, true);
      assert.equal(redis.isReady, true);
      await redis.rPush('t:early:l', 'x');
      assert.ok((await redis.pTTL('t:early:l')) > 3_500_000);
    } finally {
      await redis.quit();
    }
  });

  it('while connecting, a guarded write queues like the raw one, or fails like it under disableOfflineQueue', async () => {
    const raw = await createClient({ url: server.url }).connect();
    const queued = guard(createClient({ url: server.url }), { policy: POLICY });
    const strictOffline = guard(createClient({ url: server.url, disableOfflineQueue: true }), { policy: POLICY });
    try {
      const connecting = [queued.connect(), strictOffline.connect()];
      const [written, refused] = await Promise.allSettled([queued.hSet('t:offline:h', 'f', 'v'), strictOffline.hSet('t:offline:r', 'f', 'v')]);
      await Promise.all(connecting);
      assert.deepEqual(written, { status: 'fulfilled', value: 1 });
      assert.ok((await raw.pTTL('t:offline:h')) > 3_500_000);
      assert.equal(refused.status, 'rejected');
      assert.match(String((refused as PromiseRejectedResult).reason), /offline/i);
      assert.equal(await raw.exists('t:offline:r'), 0);
    } finally {
      await Promise.all([raw.close(), queued.close(), strictOffline.close()]);
    }
  });

  it('uses a pipeline instead of MULTI while the client is WATCHing, so the watch still guards EXEC', async () => {
    const raw = await createClient({ url: server.url }).connect();
    const other = await createClient({ url: server.url }).connect();
    const redis = guard(raw, { policy: POLICY });
    try {
      await redis.watch('t:watch:balance');
      await redis.hSet('t:watch:log', 'f', 'v'); // needs PEXPIRE; must not end the WATCH
      assert.ok((await other.pTTL('t:watch:log')) > 3_500_000);
      await other.set('t:watch:balance', '1', { EX: 60 });
      await assert.rejects(redis.multi().set('t:watch:balance', '2', { EX: 60 }).exec(), /watch/i);
    } finally {
      await raw.close();
      await other.close();
    }
  });
});

describe('guard · node-redis 4 API surface', () => {
  const hasTtl = (ttl: number): boolean => ttl > 3_500_000 && ttl <= 3_600_000;

  it('connect() and on() hand back the guarded client; duplicate(), executeIsolated() and isolated commands are guarded', async () => {
    const raw = await createClient4({ url: server.url }).connect();
    const redis = guard(createClient4({ url: server.url }), { policy: POLICY });
    assert.equal(
      redis.on('error', () => undefined),
      redis,
    );
    assert.equal(await redis.connect(), redis);
    try {
      assert.equal(redis.isOpen, true, 'getters read the real client');
      assert.equal(await redis.hSet('t:v4:h', { a: 1, b: 2 }), 2);
      assert.ok(hasTtl(await raw.pTTL('t:v4:h')));
      assert.deepEqual(await redis.hGetAll('t:v4:h'), await raw.hGetAll('t:v4:h'));
      const dup = redis.duplicate();
      await dup.connect();
      await dup.sAdd('t:v4:s', 'a');
      await dup.quit();
      assert.ok(hasTtl(await raw.pTTL('t:v4:s')));
      await redis.executeIsolated((iso) => iso.lPush('t:v4:l', 'x'));
      assert.ok(hasTtl(await raw.pTTL('t:v4:l')));
      assert.equal(await redis.incr(commandOptions({ isolated: true }), 't:v4:n'), 1);
      assert.ok(hasTtl(await raw.pTTL('t:v4:n')));
      await raw.hSet('t:v4:raw', 'f', 'v');
      assert.equal(await raw.pTTL('t:v4:raw'), -1, 'the client passed to guard stays unguarded');
    } finally {
      await Promise.all([raw.quit(), redis.quit()]);
    }
  });

  it('a write while an isolated client WATCHes is pipelined, so the watch still guards EXEC', async () => {
    const raw = await createClient4({ url: server.url }).connect();
    const redis = guard(await createClient4({ url: server.url }).connect(), { policy: POLICY });
    try {
      await redis.executeIsolated(async (iso) => {
        await iso.watch('t:v4w:balance');
        await iso.hSet('t:v4w:log', 'f', 'v'); // needs PEXPIRE: a MULTI here would end the WATCH
        await raw.set('t:v4w:balance', '1', { EX: 60 });
        await assert.rejects(iso.multi().set('t:v4w:balance', '2', { EX: 60 }).exec(), /watch/i);
      });
      assert.ok(hasTtl(await raw.pTTL('t:v4w:log')));
      assert.equal(await raw.get('t:v4w:balance'), '1');
    } finally {
      await Promise.all([raw.quit(), redis.quit()]);
    }
  });

  it('script methods run as written and are reported in warn mode', async () => {
    const scripts = {
      bump: defineScript({
        NUMBER_OF_KEYS: 1,
        SCRIPT: "return redis.call('INCR', KEYS[1])",
        transformArguments: (key: string) => [key],
        transformReply: (n: number) => n,
      }),
    };
    const violations: GuardViolation[] = [];
    const redis = guard(await createClient4({ url: server.url, scripts }).connect(), { policy: POLICY, mode: 'warn', onViolation: (v) => violations.push(v) });
    try {
      assert.equal(await redis.bump('t:v4s:n'), 1);
      assert.equal(await redis.bump('t:v4s:n'), 2);
      assert.deepEqual(
        violations.map((v) => v.kind),
        ['script', 'script'],
      );
    } finally {
      await redis.quit();
    }
  });
});
