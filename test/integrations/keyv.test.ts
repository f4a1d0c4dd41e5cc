/**
 * Keyv with @keyv/redis through guard(), node-redis standalone and cluster. In cluster mode
 * `setMany` writes through `cluster.nodeClient(master)`, a per-node client the guard must hand
 * out guarded. Entries set with a TTL keep Keyv's; entries set without one get the policy's.
 */
import assert from 'node:assert/strict';
import KeyvRedis from '@keyv/redis';
import Keyv from 'keyv';
import { describeOnNodeRedis } from './node-redis-topologies.js';

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

describeOnNodeRedis(
  'Keyv + @keyv/redis through guard()',
  {
    standalone: "node-redis standalone: same values, policy TTLs where Keyv sets none, Keyv's where it does",
    cluster: 'node-redis cluster: setMany through nodeClient() is guarded too',
  },
  POLICY,
  check,
);
/* eslint-enable @typescript-eslint/no-explicit-any */
