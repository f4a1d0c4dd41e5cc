import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { scanKeyspace } from '../../src/keyspace/scan.js';
import { scanRecords } from '../../src/keyspace/scanner.js';
import { connectTarget, type Target } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startRedis, type RedisServer } from '../support/redis.js';

/** Commands the scanner sent, from INFO commandstats. */
async function commandCalls(client: Redis): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await client.info('commandstats')).split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

describe('production safety', () => {
  let server: RedisServer;
  let admin: Redis;
  let target: Target;
  before(async () => {
    // Log every call slower than 5 ms: the scanner must never produce one, even on big keys.
    server = await startRedis({ config: { 'slowlog-log-slower-than': 5000 } });
    admin = server.client();
    for (let start = 0; start < 300_000; start += 5000) {
      const hash: string[] = [];
      const zset: Array<string | number> = [];
      for (let i = start; i < start + 5000; i++) {
        hash.push(`field:${i}`, `value:${i}`);
        zset.push(i, `member:${i}`);
      }
      await admin.hset('big:hash', ...hash);
      await admin.zadd('big:zset', ...zset);
    }
    const p = admin.pipeline();
    for (let i = 0; i < 20_000; i++) p.set(`session:${i}`, 'v');
    await p.exec();
    await admin.slowlog('RESET');
    await admin.config('RESETSTAT');
    target = await connectTarget(resolveTarget({ url: server.url }, {}));
  });
  after(async () => {
    await target.close();
    admin.disconnect();
    await server.stop();
  });

  it('never blocks the server for more than 5 ms in one call, even on 300k-element keys; reads only', async () => {
    const report = await scanKeyspace(target);
    assert.equal(report.totals.keys, 20_002);
    const big = report.bigKeys.find((k) => k.key === 'big:hash');
    assert.equal(big?.length, 300_000);
    assert.ok((big?.bytes ?? 0) > 10_000_000);
    // Redis 7 logs the commands a script runs as well as the script. A MEMORY USAGE that
    // walked a 300k-element key would take tens of ms and name SAMPLES 0.
    const slow = (await admin.slowlog('GET', 1000)) as Array<[number, number, number, string[]]>;
    const walks = slow.filter((e) => /^memory$/i.test(e[3][0]) && /^big:/.test(e[3][2]) && e[3][4] === '0');
    assert.deepEqual(walks, [], 'MEMORY USAGE walked every element of a big key');
    // Wall time in the slowlog includes the process being descheduled on a busy machine, so
    // allow rare outliers but no call anywhere near a full walk.
    const steps = slow.filter((e) => /^evalsha$/i.test(e[3][0]));
    const calls0 = await commandCalls(admin);
    assert.ok(steps.length <= Math.max(2, calls0.evalsha * 0.02), `${steps.length} of ${calls0.evalsha} steps took over 5 ms`);
    assert.deepEqual(
      steps.filter((e) => e[2] > 40_000).map((e) => `${e[2]} us`),
      [],
    );
    const calls = await commandCalls(admin);
    for (const forbidden of ['keys', 'flushall', 'flushdb', 'del', 'unlink', 'set', 'expire'])
      assert.equal(calls[forbidden], undefined, `scan sent ${forbidden}`);
  });

  it('--fast reads the table in lanes side by side and still sees every key exactly once', async () => {
    const one = await scanKeyspace(target);
    const seen = new Map<string, number>();
    const run = await scanRecords(target, {
      fast: true,
      lanes: 3,
      onBatch: (records) => {
        for (const r of records) seen.set(r.key.toString('latin1'), (seen.get(r.key.toString('latin1')) ?? 0) + 1);
      },
    });
    assert.equal(run.nodes[0].complete, true);
    assert.equal(seen.size, 20_002);
    assert.deepEqual(
      [...seen.values()].filter((n) => n !== 1),
      [],
      'keys read twice',
    );
    const fast = await scanKeyspace(target, { fast: true });
    assert.deepEqual(fast.totals, one.totals);
    assert.deepEqual(
      fast.patterns.map((p) => [p.pattern, p.keys, p.bytes]),
      one.patterns.map((p) => [p.pattern, p.keys, p.bytes]),
    );
  });

  it('paces a sparse --match by the buckets it walks, not the few keys it returns', async () => {
    await admin.config('RESETSTAT');
    const report = await scanKeyspace(target, { match: 'big:*' });
    assert.equal(report.totals.keys, 2);
    // 20k keys in ~0.25 ms calls of a few hundred buckets each; sized by keys returned,
    // every call shrank to one 10-bucket page (about 2,000 calls).
    const calls = (await commandCalls(admin)).evalsha;
    assert.ok(calls < 400, `${calls} calls for 20k keys`);
  });

  it('--max-ops caps keys per second', async () => {
    const started = Date.now();
    const report = await scanKeyspace(target, { maxOps: 10_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(report.totals.keys, 20_002);
    assert.ok(seconds >= 1.8, `took ${seconds}s, expected >= 1.8s at 10k keys/s for 20k keys`);
  });

  it('stops when aborted and says the report is incomplete', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const report = await scanKeyspace(target, { maxOps: 10_000, signal: controller.signal });
    assert.equal(report.coverage.complete, false);
    assert.equal(report.coverage.interrupted, 'interrupted');
    assert.ok(report.coverage.keysSeen < 20_002);
    assert.equal(
      report.patterns.reduce((s, p) => s + p.keys, 0),
      report.totals.keys,
    );
  });
});
