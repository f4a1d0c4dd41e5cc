/** The eviction policy crossed with the data, on real servers. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../support/redis.js';
import { policyFromObject } from '../../src/policy/index.js';
import { doctor, finding, ids } from './support.js';

let volatile: RedisServer;
let allkeys: RedisServer;

before(async () => {
  [volatile, allkeys] = await Promise.all([
    startRedis({ config: { maxmemory: '20mb', 'maxmemory-policy': 'volatile-lru' } }),
    startRedis({ config: { maxmemory: '4mb', 'maxmemory-policy': 'allkeys-lru' } }),
  ]);
});

after(async () => {
  await Promise.all([volatile?.stop(), allkeys?.stop()]);
});

test('volatile-policy-without-ttls: quiet while data has TTLs, critical once most of it has none', async () => {
  const c = volatile.client();
  try {
    const p = c.pipeline();
    for (let i = 0; i < 500; i++) p.set(`cache:${i}`, 'v'.repeat(200), 'EX', 3600);
    await p.exec();
    assert.ok(!ids(await doctor({ url: volatile.url })).includes('volatile-policy-without-ttls'));
    await c.call('DEBUG', 'POPULATE', '3000', 'profile', '200');
    const f = finding(await doctor({ url: volatile.url }), 'volatile-policy-without-ttls');
    assert.equal(f.severity, 'critical');
    assert.equal(f.evidence.noTtlBasis, 'bytes', 'every key of a small server is read');
    assert.ok(Number(f.evidence.noTtlRatio) > 0.8);
  } finally {
    c.disconnect();
  }
});

test('allkeys-policy-evicts-sessions by name and by policy role; critical and evictions-occurring once it evicts', async () => {
  const c = allkeys.client();
  try {
    const p = c.pipeline();
    for (let i = 0; i < 300; i++) p.set(`cache:${i}`, 'v'.repeat(100), 'EX', 600);
    await p.exec();
    assert.ok(!ids(await doctor({ url: allkeys.url })).includes('allkeys-policy-evicts-sessions'), 'quiet with caches only');
    await c.call('DEBUG', 'POPULATE', '200', 'sess', '100');
    await c.call('DEBUG', 'POPULATE', '200', 'acct', '100');
    const byName = finding(await doctor({ url: allkeys.url }), 'allkeys-policy-evicts-sessions');
    assert.equal(byName.severity, 'warning');
    assert.deepEqual(byName.evidence.patterns, ['sess:*']);
    const policy = policyFromObject({
      rules: [
        { match: 'acct:*', role: 'durable' },
        { match: 'cache:*', ttl: '10m' },
      ],
    });
    assert.deepEqual((finding(await doctor({ url: allkeys.url }, { policy }), 'allkeys-policy-evicts-sessions').evidence.patterns as string[]).sort(), [
      'acct:*',
      'sess:*',
    ]);
    assert.ok(!ids(await doctor({ url: allkeys.url })).includes('evictions-occurring'));
    const fill = c.pipeline();
    for (let i = 0; i < 4000; i++) fill.set(`cache:big:${i}`, 'w'.repeat(1000), 'EX', 600);
    await fill.exec();
    const report = await doctor({ url: allkeys.url });
    assert.ok(Number(finding(report, 'evictions-occurring').evidence.evictedKeys) > 0);
    if (ids(report).includes('allkeys-policy-evicts-sessions')) assert.equal(finding(report, 'allkeys-policy-evicts-sessions').severity, 'critical');
  } finally {
    c.disconnect();
  }
});
