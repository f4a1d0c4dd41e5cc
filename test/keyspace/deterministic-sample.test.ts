/**
 * A seeded sample reads the same keys on every run (what makes doctor's sampled findings
 * repeatable), a different seed reads others, and the share intervals it reports hold the truth.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { shareInterval } from '../../src/keyspace/aggregate.js';
import { samplePlan, seededRandom } from '../../src/keyspace/walk/cursor.js';
import { scanKeyspace } from '../../src/keyspace/scan.js';
import { scanRecords } from '../../src/keyspace/scanner.js';
import { connectTarget, type Target } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startRedis, type RedisServer } from '../support/redis.js';

describe('seeded sample plans', () => {
  it('the same seed gives the same stretches; another seed other ones', () => {
    assert.deepEqual(samplePlan(0.01, 64, seededRandom(42)), samplePlan(0.01, 64, seededRandom(42)));
    assert.notDeepEqual(samplePlan(0.01, 64, seededRandom(42)), samplePlan(0.01, 64, seededRandom(43)));
    const r = seededRandom(1);
    for (let i = 0; i < 10_000; i++) {
      const x = r();
      assert.ok(x >= 0 && x < 1);
    }
  });

  it('the share-without-TTL interval (ratio estimator) covers the truth about 95% of the time', () => {
    const N = 5000;
    const keys = Array.from({ length: N }, (_, i) => ({ bytes: 50 + ((i * 7919) % 400), noTtl: i % 10 < 7 }));
    const truth = keys.reduce((s, k) => s + (k.noTtl ? k.bytes : 0), 0) / keys.reduce((s, k) => s + k.bytes, 0);
    const rand = seededRandom(9);
    let covered = 0;
    const runs = 400;
    for (let r = 0; r < runs; r++) {
      const picked = keys.filter(() => rand() < 0.05);
      const sum = (f: (k: (typeof keys)[number]) => number) => picked.reduce((s, k) => s + f(k), 0);
      const noTtlBytes = (k: (typeof keys)[number]) => (k.noTtl ? k.bytes : 0);
      const [lo, hi] = shareInterval(
        sum(noTtlBytes),
        sum((k) => k.bytes),
        sum((k) => noTtlBytes(k) ** 2),
        sum((k) => noTtlBytes(k) ** 2),
        sum((k) => k.bytes ** 2),
        picked.length,
        N,
      );
      if (lo <= truth && truth <= hi) covered++;
    }
    assert.ok(covered / runs > 0.9 && covered / runs < 0.995, `coverage ${covered / runs}`);
  });
});

describe('seeded samples on a live server', () => {
  let server: RedisServer;
  let target: Target;
  before(async () => {
    server = await startRedis();
    const c = server.client();
    await c.call('DEBUG', 'POPULATE', '30000', 'session', '120');
    const p = c.pipeline();
    for (let i = 0; i < 20_000; i++) p.set(`cache:${i}`, 'v'.repeat(20 + (i % 300)), 'EX', 3600);
    await p.exec();
    c.disconnect();
    target = await connectTarget(resolveTarget({ url: server.url }, {}));
  });
  after(async () => {
    await target?.close();
    await server?.stop();
  });

  const keysRead = async (seed: number): Promise<string[]> => {
    const keys: string[] = [];
    await scanRecords(target, {
      sample: { keys: 5000 },
      sampleSeed: seed,
      lanes: 2,
      onBatch: (records) => void keys.push(...records.map((r) => r.key.toString('latin1'))),
    });
    return keys.sort();
  };

  it('reads exactly the same keys twice with one seed, and other keys with another', async () => {
    const [a, b, other] = [await keysRead(7), await keysRead(7), await keysRead(8)];
    assert.ok(a.length > 3000 && a.length < 8000, `${a.length} keys`);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, other);
  });

  it('over 20 seeds, the 95% interval of the share of bytes without TTL holds the truth at least 16 times', async () => {
    const full = await scanKeyspace(target);
    const truth = full.totals.noTtlBytes / full.totals.bytes;
    let held = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const s = await scanKeyspace(target, { sample: { keys: 2000 }, sampleSeed: seed });
      const [lo, hi] = s.totals.ci?.noTtlBytesShare ?? [0, 0];
      assert.ok(lo < hi, `seed ${seed}: an interval`);
      if (lo <= truth && truth <= hi) held++;
    }
    assert.ok(held >= 16, `held ${held} of 20`);
  });
});
