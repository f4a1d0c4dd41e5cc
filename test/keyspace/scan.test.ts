import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { scanKeyspace } from '../../src/keyspace/scan.js';
import { scanRecords } from '../../src/keyspace/scanner.js';
import { BIG_KEY, EXPIRY_CLUSTER_KEYS } from '../../src/keyspace/thresholds.js';
import type { KeyRecord } from '../../src/keyspace/record.js';
import { policyFromObject } from '../../src/policy/index.js';
import { connectTarget, type Target } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const BINARY_KEYS = [
  Buffer.from('bin:nul\x00inside'),
  Buffer.from('bin:new\nline'),
  Buffer.from('bin:\x1b[31mred\x1b[0m'),
  Buffer.from([0x62, 0x69, 0x6e, 0x3a, 0xff, 0xfe, 0x80]),
  Buffer.alloc(0),
  Buffer.concat([Buffer.from('bin:huge:'), Buffer.alloc(1024 * 1024, 0x61)]),
];

async function collect(target: Target, options = {}): Promise<KeyRecord[]> {
  const records: KeyRecord[] = [];
  await scanRecords(target, { ...options, onBatch: (batch) => void records.push(...batch) });
  return records;
}

describe('scanKeyspace on a standalone server', () => {
  let server: RedisServer;
  let admin: Redis;
  let target: Target;

  before(async () => {
    server = await startRedis();
    admin = server.client();
    const p = admin.pipeline();
    for (let i = 0; i < 3000; i++) p.set(`session:${10_000_000 + i}`, `{"user":${i}}`);
    for (let i = 0; i < 1000; i++) p.set(`cache:product:${i}`, 'x'.repeat(100), 'EX', 7200);
    for (let i = 0; i < 500; i++) p.hset(`user:${35_000 + i}:profile`, 'name', `n${i}`);
    for (let i = 0; i < 200; i++) p.set(`ratelimit:api:${i}:min`, '1', 'EX', 60);
    p.zadd('leaderboard:global', 1, 'a', 2, 'b');
    for (const k of BINARY_KEYS) p.set(k, 'v');
    await p.exec();
    await admin.select(3);
    await admin.set('other:db:key', 'x');
    await admin.select(0);
    target = await connectTarget(resolveTarget({ url: server.url }, {}));
  });
  after(async () => {
    await target.close();
    admin.disconnect();
    await server.stop();
  });

  it('sees every key of every db once, and the counts add up to DBSIZE', async () => {
    const report = await scanKeyspace(target);
    const dbsize = (await admin.dbsize()) + 1; // + the key in db 3
    assert.equal(report.coverage.complete, true);
    assert.equal(report.coverage.keysSeen, dbsize);
    assert.equal(report.totals.keys, dbsize);
    assert.equal(
      report.patterns.reduce((s, p) => s + p.keys, 0),
      report.totals.keys,
    );
    assert.deepEqual(report.target.nodes[0].dbs, [0, 3]);
  });

  it('reports the required patterns with no-TTL figures and TTL histograms', async () => {
    const report = await scanKeyspace(target, { db: 0 });
    const by = new Map(report.patterns.map((p) => [p.pattern, p]));
    const session = by.get('session:*');
    assert.ok(session, `patterns: ${[...by.keys()].join(', ')}`);
    assert.equal(session.keys, 3000);
    assert.equal(session.noTtlKeys, 3000);
    assert.equal(session.ttl.none, 3000);
    assert.equal(by.get('cache:product:*')?.noTtlKeys, 0);
    assert.equal(by.get('cache:product:*')?.ttl.lt1d, 1000);
    assert.equal(by.get('user:*:profile')?.types.hash, 500);
    assert.equal(by.get('ratelimit:api:*:min')?.ttl.lt1m, 200);
    assert.equal(by.get('leaderboard:global')?.keys, 1);
    assert.equal(
      report.totals.noTtlKeys,
      report.patterns.reduce((s, p) => s + p.noTtlKeys, 0),
    );
  });

  it('measures bytes exactly as MEMORY USAGE SAMPLES 0 does', async () => {
    const records = await collect(target, { db: 0, match: 'cache:*' });
    const p = admin.pipeline();
    for (const r of records) p.call('MEMORY', 'USAGE', r.key, 'SAMPLES', '0');
    const truth = ((await p.exec()) ?? []).reduce((s, [, v]) => s + Number(v), 0);
    assert.equal(
      records.reduce((s, r) => s + r.bytes, 0),
      truth,
    );
  });

  it('is binary-safe: NUL, newline, escape bytes, invalid UTF-8, the empty key and a 1 MB name', async () => {
    const records = await collect(target, { db: 0 });
    const seen = new Set(records.map((r) => r.key.toString('base64')));
    for (const k of BINARY_KEYS) assert.ok(seen.has(k.toString('base64')), `missing key ${JSON.stringify(k.subarray(0, 20).toString('latin1'))}`);
    const report = await scanKeyspace(target, { db: 0, match: 'bin:*' });
    const text = JSON.stringify(report);
    assert.ok(!text.includes('\x1b'), 'an escape byte reached the report');
  });

  it('filters with --match and --type', async () => {
    assert.equal((await scanKeyspace(target, { match: 'ratelimit:*' })).totals.keys, 200);
    assert.equal((await scanKeyspace(target, { type: 'hash' })).totals.keys, 500);
    assert.equal((await scanKeyspace(target, { db: 3 })).totals.keys, 1);
  });

  it('treats keys that expire or are deleted mid-scan as gone, not as errors', async () => {
    const p = admin.pipeline();
    for (let i = 0; i < 3000; i++) p.set(`flash:${i}`, 'x', 'PX', 1 + (i % 40));
    for (let i = 0; i < 3000; i++) p.set(`doomed:${i}`, 'x');
    await p.exec();
    let next = 0;
    const deleter = setInterval(() => void admin.unlink(`doomed:${next++}`, `doomed:${next++}`), 1);
    try {
      const report = await scanKeyspace(target, { db: 0, maxOps: 20_000 });
      assert.equal(report.coverage.complete, true);
      assert.ok(report.totals.keys <= 8203 + 3000 && report.totals.keys >= 4700);
    } finally {
      clearInterval(deleter);
    }
  });

  it('lets policy globs win over inference and counts keys that break their rule', async () => {
    const policy = policyFromObject({
      rules: [
        { match: 'session:*', ttl: '24h', role: 'session' },
        { match: 'user:*', role: 'durable' },
      ],
    });
    const report = await scanKeyspace(target, { db: 0, policy });
    const session = report.patterns.find((p) => p.pattern === 'session:*');
    assert.equal(session?.rule?.ttlMs, 86_400_000);
    assert.ok((session?.violations ?? 0) >= 2900);
    assert.equal(report.patterns.find((p) => p.pattern === 'user:*')?.violations, 0);
    assert.ok((report.policy?.violations ?? 0) >= 2900);
  });

  it('lists the biggest keys and the seconds in which many keys expire together', async () => {
    // Mid-second: the scanner dates an expiry as read time + PTTL, which may be a few ms off, so
    // an expiry at the edge of a second could be counted in the next one.
    const at = (Math.floor(Date.now() / 1000) + 600) * 1000 + 500;
    const p = admin.pipeline();
    // One more than the shared expiry-cluster threshold, and a second just under it that is not listed.
    for (let i = 0; i < EXPIRY_CLUSTER_KEYS; i++) p.set(`token:stampede:${i}`, 'x', 'PXAT', at);
    for (let i = 0; i < EXPIRY_CLUSTER_KEYS - 1; i++) p.set(`token:calm:${i}`, 'x', 'PXAT', at + 5000);
    p.set('big:blob', 'y'.repeat(200_000));
    await p.exec();
    const report = await scanKeyspace(target, { db: 0, top: 3 });
    assert.equal(report.bigKeys.length, 3);
    assert.equal(report.bigKeys[0].key.startsWith('bin:huge:'), true);
    assert.equal(report.bigKeys[1].key, 'big:blob');
    assert.equal(report.bigKeys[1].length, 200_000);
    const cluster = report.expiryClusters.find((c) => c.second === Math.floor(at / 1000));
    assert.equal(cluster?.keys, EXPIRY_CLUSTER_KEYS);
    assert.equal(cluster?.topPattern, 'token:stampede:*');
    assert.equal(
      report.expiryClusters.find((c) => c.second === Math.floor((at + 5000) / 1000)),
      undefined,
    );
    assert.deepEqual(report.thresholds, { bigKeyBytes: BIG_KEY.bytes, bigKeyElements: BIG_KEY.elements, expiryClusterKeys: EXPIRY_CLUSTER_KEYS });
  });
});

describe('restricted ACL users', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
    const admin = server.client();
    await admin.call('ACL', 'SETUSER', 'noeval', 'on', '>pw', '~*', '+@all', '-eval', '-evalsha');
    await admin.call('ACL', 'SETUSER', 'nomem', 'on', '>pw', '~*', '+@all', '-eval', '-evalsha', '-memory');
    await admin.call('ACL', 'SETUSER', 'luanomem', 'on', '>pw', '~*', '+@all', '-memory');
    const p = admin.pipeline();
    for (let i = 0; i < 500; i++) p.set(`session:${i}`, 'v');
    for (let i = 0; i < 100; i++) p.rpush(`queue:${i}`, 'a', 'b', 'c');
    await p.exec();
    admin.disconnect();
  });
  after(() => server.stop());

  for (const [user, method, unmeasured] of [
    ['noeval', 'pipeline', []],
    ['nomem', 'pipeline', ['bytes']],
    ['luanomem', 'lua', ['bytes']],
  ] as const) {
    it(`user "${user}" still gets a full report (${method}, unmeasured: ${unmeasured.join(',') || 'none'})`, async () => {
      const target = await connectTarget(resolveTarget({ url: `redis://${user}:pw@127.0.0.1:${server.port}` }, {}));
      try {
        const report = await scanKeyspace(target);
        assert.equal(report.coverage.method, method);
        assert.deepEqual(report.coverage.unmeasured, unmeasured);
        assert.equal(report.totals.keys, 600);
        const queue = report.patterns.find((p) => p.pattern === 'queue:*');
        assert.equal(queue?.types.list, 100);
        if (unmeasured.length === 0) assert.ok(report.totals.bytes > 0);
      } finally {
        await target.close();
      }
    });
  }
});
