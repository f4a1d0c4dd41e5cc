/**
 * rate-limit-redis (the express-rate-limit store) through guard(), with ioredis and node-redis:
 * its Lua scripts pass through, hit counts are the raw client's, and its keys keep the window
 * TTL the script sets, never the policy's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import { createClient } from 'redis';
import { guard } from '../../src/guard/index.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const POLICY = { rules: [{ match: 'rl:*', ttl: '1h' }] };
const WINDOW_MS = 60_000;

async function workload(sendCommand: (...args: string[]) => Promise<unknown>, client: string): Promise<unknown[]> {
  const store = new RedisStore({ sendCommand: sendCommand as never, prefix: `rl:${client}:` });
  store.init({ windowMs: WINDOW_MS } as never);
  const hits: unknown[] = [];
  for (let i = 0; i < 3; i++) hits.push((await store.increment('10.0.0.1')).totalHits);
  await store.decrement('10.0.0.1');
  hits.push((await store.get('10.0.0.1'))?.totalHits);
  await store.resetKey('10.0.0.2');
  return hits;
}

describe('rate-limit-redis through guard()', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(() => server?.stop());

  it("ioredis and node-redis: the raw client's counts, the store's own window TTL", async () => {
    const io = new Redis(server.url);
    const ioGuarded = guard(new Redis(server.url), { policy: POLICY });
    const node = await createClient({ url: server.url }).connect();
    const nodeGuarded = guard(await createClient({ url: server.url }).connect(), { policy: POLICY });
    try {
      const expected = await workload((command, ...args) => io.call(command, ...args), 'raw-io');
      assert.deepEqual(expected, [1, 2, 3, 2]);
      assert.deepEqual(await workload((command, ...args) => ioGuarded.call(command, ...args), 'g-io'), expected);
      assert.deepEqual(await workload((...args) => node.sendCommand(args), 'raw-node'), expected);
      assert.deepEqual(await workload((...args) => nodeGuarded.sendCommand(args), 'g-node'), expected);
      for (const client of ['g-io', 'g-node']) {
        const ttl = await io.pttl(`rl:${client}:10.0.0.1`);
        assert.ok(ttl > 0 && ttl <= WINDOW_MS, `rl:${client}: PTTL ${ttl}, the store's window, not the policy's 1h`);
      }
    } finally {
      io.disconnect();
      ioGuarded.disconnect();
      await Promise.all([node.close(), nodeGuarded.close()]);
    }
  });
});
