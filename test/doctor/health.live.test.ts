/**
 * Keyspace, health, persistence, clients and slowlog rules: each triggered on a real server put
 * into that state, and all quiet on a fresh healthy one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../support/redis.js';
import { cli, doctor, finding, ids } from './support.js';

let quiet: RedisServer;
let busy: RedisServer;
let broken: RedisServer;
const EVIL = 'big\x1b]0;pwned\x07\x1b[31m:blob';

before(async () => {
  [quiet, busy, broken] = await Promise.all([startRedis(), startRedis({ config: { maxclients: 12 } }), startRedis()]);
  const q = quiet.client();
  const qp = q.pipeline();
  for (let i = 0; i < 200; i++) qp.set(`cache:${i}`, 'v', 'EX', 600 + i);
  for (let i = 0; i < 300; i++) qp.get(`cache:${i % 200}`);
  await qp.exec();
  q.disconnect();
});

after(async () => {
  await Promise.all([quiet?.stop(), busy?.stop(), broken?.stop()]);
});

const RULES_HERE = [
  'big-keys',
  'lazyfree-off-with-big-keys',
  'expiry-stampede',
  'dangerous-commands-in-slowlog',
  'hit-ratio-low',
  'persistence-failing',
  'fragmentation-high',
  'swapping',
  'clients-near-maxclients',
  'rejected-connections',
  'replication-lag',
  'replica-link-down',
];

test('a fresh server with a little cache data triggers none of these rules', async () => {
  const report = await doctor({ url: quiet.url });
  assert.deepEqual(
    ids(report).filter((id) => RULES_HERE.includes(id)),
    [],
  );
  assert.ok(!report.skipped.some((s) => RULES_HERE.includes(s.id)), JSON.stringify(report.skipped));
});

test('big-keys, lazyfree-off-with-big-keys, expiry-stampede, slowlog and hit ratio on a busy server; key names are escaped', async () => {
  const c = busy.client();
  try {
    await c.setrange(EVIL, 11 * 1024 * 1024, 'x');
    const at = Math.floor(Date.now() / 1000) + 3600;
    const p = c.pipeline();
    for (let i = 0; i < 1500; i++) p.set(`promo:${i}`, '1', 'EXAT', at);
    for (let i = 0; i < 12_000; i++) p.get(`missing:${i}`);
    await p.exec();
    await c.config('SET', 'slowlog-log-slower-than', '0');
    await c.keys('promo:1*');
    await c.hset('h', 'a', '1');
    await c.hgetall('h');
    await c.config('SET', 'slowlog-log-slower-than', '10000');

    const report = await doctor({ url: busy.url }, { sample: { keys: 100_000 } });
    const big = finding(report, 'big-keys');
    assert.equal(big.evidence.count, 1);
    assert.match(big.fix[0], /^delete without blocking: UNLINK "big\\x1b\]0;pwned\\x07\\x1b\[31m:blob"/);
    assert.equal(finding(report, 'lazyfree-off-with-big-keys').fix[0], 'CONFIG SET lazyfree-lazy-eviction yes');
    const stampede = finding(report, 'expiry-stampede');
    assert.equal(stampede.evidence.largestKeys, 1500);
    assert.deepEqual(stampede.evidence.topPatterns, ['promo:*']);
    const slow = finding(report, 'dangerous-commands-in-slowlog');
    assert.ok((slow.evidence.commands as string[]).includes('KEYS') && (slow.evidence.commands as string[]).includes('HGETALL'));
    assert.ok((slow.evidence.examples as string[]).includes('KEYS promo:1*'));
    assert.equal(finding(report, 'hit-ratio-low').evidence.keyspaceMisses, 12_000);

    const text = await cli([busy.url, '--sample', '100000']);
    const md = await cli([busy.url, '--format', 'markdown', '--sample', '100000']);
    for (const out of [text.stdout, md.stdout]) {
      // eslint-disable-next-line no-control-regex
      assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(out), 'no raw control bytes in human output');
      assert.ok(out.includes('big\\x1b]0;pwned\\x07\\x1b[31m:blob') || out.includes('big\\x1b\\]0;pwned\\x07\\x1b\\[31m:blob'));
    }
  } finally {
    c.disconnect();
  }
});

test('clients-near-maxclients and rejected-connections', async () => {
  const clients: Redis[] = [];
  try {
    for (let i = 0; i < 14; i++) {
      const r = new Redis({ port: busy.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      clients.push(r);
      await r.ping().catch(() => undefined);
    }
    // Free three slots: one for the doctor, and a margin; ~10 of 12 stay in use.
    for (const r of clients.splice(0, 3)) r.disconnect();
    await new Promise((r) => setTimeout(r, 100));
    const report = await doctor({ url: busy.url }, { sample: false });
    assert.ok(Number(finding(report, 'rejected-connections').evidence.rejectedConnections) > 0);
    assert.ok(Number(finding(report, 'clients-near-maxclients').evidence.ratio) >= 0.8);
  } finally {
    for (const r of clients) r.disconnect();
  }
});

test('persistence-failing when the last RDB save failed', async () => {
  const c = broken.client();
  try {
    await c.set('k', 'v');
    // The data directory vanishes under Redis: the next save cannot create its temp file.
    rmSync(broken.dir, { recursive: true, force: true });
    await c.bgsave();
    for (let i = 0; i < 100 && !(await c.info('persistence')).includes('rdb_last_bgsave_status:err'); i++) await new Promise((r) => setTimeout(r, 50));
    const f = finding(await doctor({ url: broken.url }, { sample: false }), 'persistence-failing');
    assert.equal(f.severity, 'critical');
    assert.deepEqual(f.evidence.failed, ['rdb_last_bgsave_status']);
  } finally {
    c.disconnect();
  }
});

test('fragmentation-high after half of many small keys are deleted', async () => {
  const server = await startRedis();
  const c = server.client();
  try {
    await c.call('DEBUG', 'POPULATE', '600000', 'k', '100');
    await c.eval("for i=0,599999,2 do redis.call('UNLINK','k:'..i) end return 1", 0);
    const f = finding(await doctor({ url: server.url }, { sample: false }), 'fragmentation-high');
    assert.ok(Number(f.evidence.fragmentationRatio) >= 1.5);
    assert.match(f.fix[0], /activedefrag yes/);
  } finally {
    c.disconnect();
    await server.stop();
  }
});
