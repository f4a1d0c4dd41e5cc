/**
 * cache-manager (v6+, whose stores are Keyv instances) over @keyv/redis through guard(), with
 * node-redis: the same values as with the raw client; entries cached with a TTL keep
 * cache-manager's, entries cached without one (no default ttl) get the policy's instead of
 * living forever. `wrap` (read-through) and `mset` go through the same paths.
 */
import assert from 'node:assert/strict';
import KeyvRedis from '@keyv/redis';
import { createCache } from 'cache-manager';
import Keyv from 'keyv';
import { describeOnNodeRedis } from './node-redis-topologies.js';

const POLICY = { rules: [{ match: 'g-*', ttl: '1h' }] };

/* eslint-disable @typescript-eslint/no-explicit-any -- node-redis client and cluster types differ */
async function workload(client: any, prefix: string): Promise<unknown[]> {
  const cache = createCache({ stores: [new Keyv({ store: new KeyvRedis(client), namespace: undefined, useKeyPrefix: false })] });
  await cache.set(`${prefix}-forever`, { user: 1 });
  await cache.set(`${prefix}-short`, 'brief', 5000);
  await cache.mset<unknown>([
    { key: `${prefix}-m1`, value: 1 },
    { key: `${prefix}-m2`, value: 'x', ttl: 5000 },
  ]);
  let calls = 0;
  const load = async () => {
    calls++;
    return { computed: true };
  };
  const first = await cache.wrap(`${prefix}-wrapped`, load);
  const second = await cache.wrap(`${prefix}-wrapped`, load);
  return [await cache.get(`${prefix}-forever`), await cache.get(`${prefix}-short`), await cache.mget([`${prefix}-m1`, `${prefix}-m2`]), first, second, calls];
}

async function check(raw: any, guarded: any): Promise<void> {
  const expected = await workload(raw, 'raw');
  assert.equal(expected[5], 1, 'wrap read through once');
  assert.deepEqual(await workload(guarded, 'g'), expected);
  for (const name of ['forever', 'm1', 'wrapped']) {
    const ttl = await raw.pTTL(`g-${name}`);
    assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `g-${name}: PTTL ${ttl}, the policy's 1h`);
    assert.equal(await raw.pTTL(`raw-${name}`), -1, 'without the guard it would live forever');
  }
  for (const name of ['short', 'm2']) {
    const ttl = await raw.pTTL(`g-${name}`);
    assert.ok(ttl > 0 && ttl <= 5000, `g-${name}: PTTL ${ttl}, cache-manager's own 5 s`);
  }
}

describeOnNodeRedis(
  'cache-manager + Keyv + @keyv/redis through guard()',
  {
    standalone: 'node-redis standalone: same values, policy TTLs where cache-manager sets none, its own where it does',
    cluster: 'node-redis cluster: the same',
  },
  POLICY,
  check,
);
/* eslint-enable @typescript-eslint/no-explicit-any */
