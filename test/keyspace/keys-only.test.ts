import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TTL_UNKNOWN } from '../../src/keyspace/record.js';
import { scanRecords } from '../../src/keyspace/scanner.js';
import { connectTarget } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startRedis, type RedisServer } from '../support/redis.js';

describe('keys-only walk (inspect: false)', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
    const c = server.client();
    const p = c.pipeline();
    for (let i = 0; i < 5000; i++) p.set(`k:${i}`, 'v');
    await p.exec();
    await c.config('RESETSTAT');
    c.disconnect();
  });
  after(() => server.stop());

  it('yields every key once and sends nothing but SCAN', async () => {
    const target = await connectTarget(resolveTarget({ url: server.url }, {}));
    const seen = new Set<string>();
    try {
      const run = await scanRecords(target, {
        inspect: false,
        onBatch: (records) => {
          for (const r of records) {
            assert.equal(r.ttlMs, TTL_UNKNOWN);
            seen.add(r.key.toString());
          }
        },
      });
      assert.equal(run.nodes[0].method, 'none');
    } finally {
      await target.close();
    }
    assert.equal(seen.size, 5000);
    const c = server.client();
    const stats = await c.info('commandstats');
    c.disconnect();
    const commands = [...stats.matchAll(/cmdstat_([^:]+):/g)]
      .map((m) => m[1])
      .filter((n) => !['info', 'config|resetstat', 'client|setname', 'client|setinfo', 'hello', 'ping', 'select', 'quit'].includes(n));
    assert.deepEqual(commands.sort(), ['scan']);
  });
});
