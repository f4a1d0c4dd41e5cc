/**
 * --enforce: violating keys found by the background pass get their rule's TTL through fix's
 * apply path (journaled for undo); durable keys and keys under no rule are never touched, and
 * a clean pass triggers no further writes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/index.js';
import { startRedis } from '../support/redis.js';
import { get, seed, series, waitFor, watch } from './support.js';

describe('watch --enforce', () => {
  it('gives violating keys their policy TTL, journaled, and leaves durable and unmatched keys alone', async () => {
    const server = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'keywarden-enforce-'));
    const c = server.client();
    await seed(c, 'session', 100);
    await seed(c, 'session:admin', 10);
    await seed(c, 'misc', 20);
    const policy = parsePolicy(['rules:', '  - match: "session:admin:*"', '    role: durable', '  - match: "session:*"', '    ttl: 1h'].join('\n'));
    const w = await watch(server.url, { policy, enforce: true, journalDir: dir });
    try {
      await waitFor('enforcement', () => w.view.live.enforced === 100);
      const ttl = async (key: string) => c.pttl(key);
      assert.ok((await ttl('session:7')) > 3_500_000 && (await ttl('session:7')) <= 3_600_000);
      assert.equal(await ttl('session:admin:3'), -1, 'durable keys never get a TTL');
      assert.equal(await ttl('misc:3'), -1, 'keys under no rule are never touched');
      const logs = () => w.logs.map((l) => JSON.parse(l) as { msg: string; journal?: string; applied?: number; target?: string });
      // Like fix --apply and undo, it names the server it writes to before it writes.
      const first = logs().findIndex((l) => l.msg.startsWith('--enforce is on'));
      assert.ok(first !== -1 && first < logs().findIndex((l) => l.msg === 'enforcing policy TTLs'), 'the target is named before the first write');
      assert.equal(logs()[first].target, server.url);
      const done = logs().find((l) => l.msg === 'enforced policy TTLs');
      assert.equal(done?.applied, 100);
      assert.ok(done?.journal && existsSync(done.journal), 'journal written for keywarden undo');

      // The next passes find nothing to do, and enforcement stays quiet.
      await w.nextPass();
      await w.nextPass();
      assert.equal(logs().filter((l) => l.msg === 'enforcing policy TTLs').length, 1);
      const metrics = (await get(`${w.url}/metrics`)).body;
      assert.equal(series(metrics, 'keywarden_enforced_keys_total')[0].value, 100);
      assert.equal(series(metrics, 'keywarden_pattern_policy_violations').find((s) => s.labels.pattern === 'session:*')?.value, 0);
    } finally {
      await w.stop();
      c.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
