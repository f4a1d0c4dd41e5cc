/**
 * fix against replication and Redis Cluster: writes pause while a replica lags (the replica
 * stalled with DEBUG SLEEP), and a real 3-master cluster is fixed on every master in
 * parallel, then undone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { applyFix, undoFix, type LagEvent } from '../../src/fix/index.js';
import { adHocPolicy } from '../../src/policy/index.js';
import { connectTarget } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startCluster, startPrimaryWithReplica } from '../support/redis.js';
import { fill, ttlCounts } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'keywarden-fix-topology-'));

describe('fix with replicas and cluster', () => {
  it('pauses writes while a replica lags more than --max-replica-lag, then finishes', async () => {
    const pair = await startPrimaryWithReplica();
    const primary = pair.primary.client();
    const replica = pair.replica.client();
    const sleeper = pair.replica.client();
    try {
      await fill(primary, 'session:', 20_000);
      const events: Array<LagEvent & { pausedMs?: number }> = [];
      const target = await connectTarget(resolveTarget({ url: pair.primary.url }, {}));
      let stalled: Promise<unknown> | undefined;
      try {
        const report = await applyFix(target, {
          policy: adHocPolicy('session:*', '24h'),
          journal: join(dir, 'lag.jsonl'),
          maxOps: 4000,
          maxReplicaLagMs: 1000,
          onReplicaLag: (e) => events.push(e),
          async beforeWrite() {
            // The replica stops acknowledging for 4 s once writes are under way.
            stalled ??= sleeper.call('DEBUG', 'SLEEP', '4');
          },
        });
        assert.equal(report.totals.applied, 20_000);
        assert.ok(report.totals.replicaPauseMs >= 1000, `paused only ${report.totals.replicaPauseMs} ms`);
      } finally {
        await stalled;
        await target.close();
      }
      const pause = events.find((e) => e.pausedMs === undefined);
      assert.ok(pause, 'no pause event');
      assert.equal(pause.replica, `127.0.0.1:${pair.replica.port}`);
      assert.ok(pause.lagMs > 1000);
      assert.ok(
        events.some((e) => e.pausedMs !== undefined),
        'no resume event',
      );
      // The TTLs reached the replica too.
      for (let i = 0; i < 50 && (await ttlCounts(replica, 'session:*')).without > 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await ttlCounts(replica, 'session:*'), { withTtl: 20_000, without: 0 });
    } finally {
      primary.disconnect();
      replica.disconnect();
      sleeper.disconnect();
      await pair.stop();
    }
  });

  it('fixes keys on every master of a cluster in parallel, and undo takes it back', async () => {
    const cluster = await startCluster();
    const writer = new Cluster([{ host: '127.0.0.1', port: cluster.masters[0].port }]);
    try {
      const keys = Array.from({ length: 9000 }, (_, i) => `cache:${i}`);
      for (let i = 0; i < keys.length; i += 500) await Promise.all(keys.slice(i, i + 500).map((k) => writer.set(k, 'v')));
      await writer.set('{user}:1:profile', 'keep');
      const target = await connectTarget(resolveTarget({ url: cluster.url }, {}));
      const journal = join(dir, 'cluster.jsonl');
      try {
        assert.equal(target.nodes.length, 3);
        const report = await applyFix(target, { policy: adHocPolicy('cache:*', '1h'), journal });
        assert.equal(report.target.mode, 'cluster');
        assert.equal(report.totals.applied, 9000);
        for (const master of cluster.masters) {
          const c = master.client();
          const counts = await ttlCounts(c, 'cache:*');
          c.disconnect();
          assert.ok(counts.withTtl > 2000, `master ${master.port} has only ${counts.withTtl} fixed keys`);
          assert.equal(counts.without, 0);
        }
        assert.equal(await writer.pttl('{user}:1:profile'), -1);
        const undo = await undoFix(target, { journal });
        assert.equal(undo.persisted, 9000);
      } finally {
        await target.close();
      }
      assert.equal(await writer.pttl('cache:1'), -1);
    } finally {
      writer.disconnect();
      await cluster.stop();
    }
  });
});
