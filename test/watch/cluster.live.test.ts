/** A real 3-master Redis Cluster: one `node` label per master, each node's figures equal its own DBSIZE. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { startCluster, type RedisCluster } from '../support/redis.js';
import { get, promtoolCheckMetrics, series, watch } from './support.js';

describe('watch on a cluster', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startCluster();
    const c = new Cluster([{ host: '127.0.0.1', port: cluster.masters[0].port }]);
    for (let i = 0; i < 300; i++) await c.set(`session:${i}`, 'x');
    for (let i = 0; i < 90; i++) await c.set(`cache:${i}`, 'y', 'EX', 3600);
    c.disconnect();
  });
  after(() => cluster.stop());

  it('labels every figure with its node, and the nodes add up to the whole', async () => {
    const w = await watch(cluster.url);
    try {
      await w.nextPass();
      const { body } = await get(`${w.url}/metrics`);
      assert.equal(promtoolCheckMetrics(body).status, 0, promtoolCheckMetrics(body).output);
      const nodes = cluster.masters.map((m) => `127.0.0.1:${m.port}`).sort();
      assert.deepEqual(
        series(body, 'keywarden_up')
          .map((s) => s.labels.node)
          .sort(),
        nodes,
      );
      const keys = series(body, 'keywarden_pattern_keys');
      assert.deepEqual([...new Set(keys.map((s) => s.labels.node))].sort(), nodes);
      for (const master of cluster.masters) {
        const c = master.client();
        const dbsize = await c.dbsize();
        c.disconnect();
        const node = `127.0.0.1:${master.port}`;
        assert.equal(
          keys.filter((s) => s.labels.node === node).reduce((s, k) => s + k.value, 0),
          dbsize,
          `${node} figures vs its DBSIZE`,
        );
      }
      const sum = (pattern: string, name = 'keywarden_pattern_keys') =>
        series(body, name)
          .filter((s) => s.labels.pattern === pattern)
          .reduce((s, k) => s + k.value, 0);
      assert.equal(sum('session:*'), 300);
      assert.equal(sum('cache:*'), 90);
      assert.equal(sum('session:*', 'keywarden_pattern_no_ttl_keys'), 300);
      assert.equal(sum('cache:*', 'keywarden_pattern_no_ttl_keys'), 0);
      assert.equal(series(body, 'keywarden_memory_used_bytes').length, 3);
    } finally {
      await w.stop();
    }
  });
});
