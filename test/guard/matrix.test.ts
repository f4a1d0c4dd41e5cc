/**
 * The guard with every supported client library major, as an application installs it: the
 * conformance suite for the majors that ioredis.test.ts / node-redis.test.ts do not cover, and
 * the regression cases of issue #15 for all of them, standalone and cluster.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClientPool } from 'redis';
import { createClientPool as createClientPool5 } from 'redis5';
import { commandOptions, createClient as createClient4 } from 'redis4';
import { guard } from '../../src/guard/index.js';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';
import { IOREDIS_LIBRARIES, ioredisCluster, ioredisStandalone, NODE_REDIS_LIBRARIES, nodeRedisCluster, nodeRedisStandalone, type Driver } from './drivers.js';
import { regressionSuite } from './regressions.js';
import { guardSuite, POLICY, space } from './suite.js';

let server: RedisServer;
let cluster: RedisCluster;
const drivers = new Map<string, Driver>();

before(async () => {
  server = await startRedis();
  cluster = await startCluster();
});
after(async () => {
  for (const driver of drivers.values()) await driver.close();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

type Make = () => Promise<Driver>;
type Extra = (driver: () => Driver, cluster: boolean) => void;
function matrix(label: string, makeStandalone: Make, makeCluster: Make, conformance: boolean, extra: Extra): void {
  for (const [topology, make] of [
    ['standalone', makeStandalone],
    ['cluster', makeCluster],
  ] as const) {
    const name = `${label} ${topology}`;
    const driver = () => drivers.get(name) as Driver;
    describe(`guard · ${name}`, () => {
      before(async () => {
        if (!drivers.has(name)) drivers.set(name, await make());
      });
      if (conformance) guardSuite(driver);
      regressionSuite(driver);
      extra(driver, topology === 'cluster');
    });
  }
}

const HOUR = 3_600_000;
const hasRuleTtl = (ttl: unknown): boolean => typeof ttl === 'number' && ttl > HOUR - 60_000 && ttl <= HOUR;

/* eslint-disable @typescript-eslint/no-explicit-any -- each library major has its own client types */
const ioredisExtras: Extra = (d, clustered) => {
  it("pipeline().length counts the commands the application queued, not the guard's PEXPIREs", () => {
    const g = d().guarded({ policy: POLICY }).native as any;
    const p = space();
    const batch = g.pipeline().hset(p('t', 'h'), 'f', 'v').incr(p('t', 'n')).get(p('t', 'n'));
    assert.equal(batch.length, 3);
    return batch.exec();
  });
  if (clustered) {
    it('per-node clients from cluster.nodes() are guarded', async () => {
      const g = d().guarded({ policy: POLICY }).native as any;
      await g.call('PING');
      const masters = g.nodes('master') as any[];
      assert.equal(masters.length, 3);
      assert.equal(g.nodes('master')[0], masters[0], 'the same node is the same object on every call');
      const key = space()('t', 'node');
      let written = 0;
      for (const node of masters)
        written += await node.hset(key, 'f', 'v').then(
          () => 1,
          () => 0,
        ); // MOVED from the others
      assert.equal(written, 1);
      assert.ok(hasRuleTtl(await d().raw.call(['PTTL', key])));
    });
  }
};

/** node-redis 4 has no type mappings and no RESP3: its `commandOptions({ returnBuffers })` instead. */
const nodeRedis4Extras: Extra = (d) => {
  it("replies with returnBuffers are exactly the raw client's, and a read sent right after a guarded write sees it", async () => {
    const g = d().guarded({ policy: POLICY }).native as any;
    const r = d().raw.native as any;
    const buffers = commandOptions({ returnBuffers: true });
    const p = space();
    assert.deepEqual(await g.getSet(buffers, p('t', 'g1'), 'a'), await r.getSet(buffers, p('t', 'r1'), 'a'));
    const swapped = await g.getSet(buffers, p('t', 'g1'), 'b');
    assert.ok(Buffer.isBuffer(swapped), 'GETSET with returnBuffers → Buffer');
    assert.deepEqual(swapped, await r.getSet(buffers, p('t', 'r1'), 'b'));
    assert.deepEqual(await g.hIncrByFloat(p('t', 'g3'), 'f', 2.5), await r.hIncrByFloat(p('t', 'r3'), 'f', 2.5));
    assert.ok(hasRuleTtl(await d().raw.call(['PTTL', p('t', 'g1')])));
    assert.ok(hasRuleTtl(await d().raw.call(['PTTL', p('t', 'g3')])));
    for (let i = 0; i < 10; i++) {
      const key = p('t', `o${i}`);
      const [decr, get] = await Promise.all([g.decr(buffers, key), g.get(buffers, key)]);
      assert.equal(decr, -1);
      assert.deepEqual(get, Buffer.from('-1'), `round ${i}: the GET overtook the guarded DECR`);
      assert.ok(hasRuleTtl(await d().raw.call(['PTTL', key])));
    }
  });
};

const nodeRedisExtras =
  (lib: (typeof NODE_REDIS_LIBRARIES)[number]): Extra =>
  (d, clustered) => {
    if (lib.major === 4) {
      nodeRedis4Extras(d, clustered);
      if (clustered) perNodeClients(d);
      return;
    }
    it("replies under a type mapping are exactly the raw client's (Buffer strings, doubles)", async () => {
      const mapping = { 36: Buffer }; // RESP_TYPES.BLOB_STRING
      const g = (d().guarded({ policy: POLICY }).native as any).withTypeMapping(mapping);
      const r = (d().raw.native as any).withTypeMapping(mapping);
      const p = space();
      for (const [gk, rk] of [[p('t', 'g1'), p('t', 'r1')]]) {
        assert.deepEqual(await g.getSet(gk, 'a'), await r.getSet(rk, 'a'));
        const swapped = await g.getSet(gk, 'b');
        assert.ok(Buffer.isBuffer(swapped), 'GETSET under BLOB_STRING → Buffer');
        assert.deepEqual(swapped, await r.getSet(rk, 'b'));
      }
      assert.deepEqual(await g.incrByFloat(p('t', 'g2'), 1.5), await r.incrByFloat(p('t', 'r2'), 1.5));
      assert.deepEqual(await g.hIncrByFloat(p('t', 'g3'), 'f', 2.5), await r.hIncrByFloat(p('t', 'r3'), 'f', 2.5));
      assert.ok(hasRuleTtl(await d().raw.call(['PTTL', p('t', 'g3')])));
    });
    it('under a type mapping, a read sent right after a guarded write still sees it', async () => {
      const g = (d().guarded({ policy: POLICY }).native as any).withTypeMapping({ 36: Buffer });
      const p = space();
      for (let i = 0; i < 20; i++) {
        const key = p('t', `o${i}`);
        const [decr, get] = await Promise.all([g.decr(key), g.get(key)]);
        assert.equal(decr, -1);
        assert.deepEqual(get, Buffer.from('-1'), `round ${i}: the GET overtook the guarded DECR`);
        assert.ok(hasRuleTtl(await d().raw.call(['PTTL', key])));
      }
    });
    if (!clustered) {
      it("RESP3 replies are exactly the raw client's", async () => {
        const raw = (await (lib.createClient({ url: server.url, RESP: 3 }) as any).connect()) as any;
        const other = (await (lib.createClient({ url: server.url, RESP: 3 }) as any).connect()) as any;
        const g = guard(other, { policy: POLICY }) as any;
        try {
          const p = space();
          assert.deepEqual(await g.zIncrBy(p('t', 'gz'), 1.5, 'm'), await raw.zIncrBy(p('t', 'rz'), 1.5, 'm'));
          assert.deepEqual(await g.hIncrByFloat(p('t', 'gh'), 'f', 0.25), await raw.hIncrByFloat(p('t', 'rh'), 'f', 0.25));
          assert.deepEqual(await g.sAdd(p('t', 'gs'), ['a', 'b']), await raw.sAdd(p('t', 'rs'), ['a', 'b']));
          assert.ok(hasRuleTtl(await raw.pTTL(p('t', 'gz'))));
        } finally {
          await Promise.all([raw.close(), other.close()]);
        }
      });
    }
    if (clustered) perNodeClients(d);
  };

/** Per-node clients a guarded node-redis cluster hands out are guarded (every major). */
function perNodeClients(d: () => Driver): void {
  it('per-node clients from nodeClient() / getNodeClientForKey() are guarded', async () => {
    const g = d().guarded({ policy: POLICY }).native as any;
    const key = space()('t', 'node');
    let written = 0;
    for (const master of g.masters as any[]) {
      const node = await g.nodeClient(master);
      written += await node.hSet(key, 'f', 'v').then(
        () => 1,
        () => 0,
      ); // MOVED from the others
    }
    assert.equal(written, 1);
    assert.ok(hasRuleTtl(await d().raw.call(['PTTL', key])));
    if (typeof g.getNodeClientForKey === 'function') {
      const other = space()('t', 'node');
      await (await g.getNodeClientForKey(other)).hSet(other, 'f', 'v');
      assert.ok(hasRuleTtl(await d().raw.call(['PTTL', other])));
    }
  });
}
/* eslint-enable @typescript-eslint/no-explicit-any */

IOREDIS_LIBRARIES.forEach((lib, i) =>
  matrix(
    lib.label,
    () => ioredisStandalone(server, lib),
    () => ioredisCluster(cluster, lib),
    i > 0,
    ioredisExtras,
  ),
);
NODE_REDIS_LIBRARIES.forEach((lib, i) =>
  matrix(
    lib.label,
    () => nodeRedisStandalone(server, lib),
    () => nodeRedisCluster(cluster, lib),
    i > 0,
    nodeRedisExtras(lib),
  ),
);

describe('guard · clients it cannot wrap', () => {
  it('refuses a node-redis client pool with one line', () => {
    for (const make of [createClientPool, createClientPool5] as Array<(options: object) => object>) {
      const pool = make({ url: server.url });
      assert.throws(
        () => guard(pool, { policy: POLICY }),
        (err: Error) => /createClientPool\) cannot be guarded/.test(err.message) && !err.message.includes('\n'),
      );
    }
  });

  it('refuses a node-redis 4 client in legacyMode with one line', () => {
    const client = createClient4({ url: server.url, legacyMode: true });
    assert.throws(
      () => guard(client, { policy: POLICY }),
      (err: Error & { hint?: string }) =>
        /node-redis 4 client in legacyMode cannot be guarded/.test(err.message) && !err.message.includes('\n') && /without legacyMode/.test(String(err.hint)),
    );
  });

  it('refuses anything else with one line naming the supported versions', () => {
    assert.throws(
      () => guard({ get: () => 1 }, { policy: POLICY }),
      (err: Error) => /unsupported client; supported: ioredis 5 and 6 .*redis \(node-redis\) 4, 5 and 6/.test(err.message) && !err.message.includes('\n'),
    );
  });
});
