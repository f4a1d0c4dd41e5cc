/**
 * Keyv with @keyv/redis through guard(), node-redis standalone and cluster. In cluster mode
 * `setMany` writes through `cluster.nodeClient(master)`, a per-node client the guard must hand
 * out guarded. Entries set with a TTL keep Keyv's; entries set without one get the policy's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import KeyvRedis from '@keyv/redis';
import Keyv from 'keyv';
import { createClient, createCluster } from 'redis';
import { guard } from '../../src/guard/index.js';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';

const POLICY = { rules: [{ match: 'g-*', ttl: '1h' }] };

/* eslint-disable @typescript-eslint/no-explicit-any -- node-redis client and cluster types differ */
async function workload(client: any, namespace: string): Promise<unknown[]> {
  const keyv = new Keyv({ store: new KeyvRedis(client), namespace: undefined, useKeyPrefix: false });
  await keyv.set(`${namespace}-one`, { a: 1 });
  await keyv.set(`${namespace}-short`, 'brief', 5000); // Keyv's own TTL
  await keyv.setMany([
    { key: `${namespace}-m1`, value: 1 },
    { key: `${namespace}-m2`, value: 'two' },
    { key: `${namespace}-m3`, value: [3], ttl: 5000 },
  ]);
  return [
    await keyv.get(`${namespace}-one`),
    await keyv.get(`${namespace}-short`),
    await keyv.getMany([`${namespace}-m1`, `${namespace}-m2`, `${namespace}-m3`]),
    await keyv.has(`${namespace}-m1`),
  ];
}

async function check(raw: any, guarded: any): Promise<void> {
  const expected = await workload(raw, 'raw');
  const got = await workload(guarded, 'g');
  assert.deepEqual(got, expected);
  for (const name of ['one', 'm1', 'm2']) {
    const ttl = await raw.pTTL(`g-${name}`);
    assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `g-${name}: PTTL ${ttl}, the policy's 1h`);
    assert.equal(await raw.pTTL(`raw-${name}`), -1, 'without the guard it would live forever');
  }
  for (const name of ['short', 'm3']) {
    const ttl = await raw.pTTL(`g-${name}`);
    assert.ok(ttl > 0 && ttl <= 5000, `g-${name}: PTTL ${ttl}, Keyv's own 5 s`);
  }
}

describe('Keyv + @keyv/redis through guard()', () => {
  let server: RedisServer;
  let cluster: RedisCluster;
  before(async () => {
    server = await startRedis();
    cluster = await startCluster();
  });
  after(async () => {
    await Promise.all([server?.stop(), cluster?.stop()]);
  });

  it('node-redis standalone: same values, policy TTLs where Keyv sets none, Keyv\'s where it does', async () => {
    const raw = await createClient({ url: server.url }).connect();
    const other = await createClient({ url: server.url }).connect();
    try {
      await check(raw, guard(other, { policy: POLICY }));
    } finally {
      await Promise.all([raw.close(), other.close()]);
    }
  });

  it('node-redis cluster: setMany through nodeClient() is guarded too', async () => {
    const rootNodes = cluster.masters.map((m) => ({ url: m.url }));
    const raw = await createCluster({ rootNodes }).connect();
    const other = await createCluster({ rootNodes }).connect();
    try {
      await check(raw, guard(other, { policy: POLICY }));
    } finally {
      await Promise.all([raw.close(), other.close()]);
    }
  });
});
/* eslint-enable @typescript-eslint/no-explicit-any */
