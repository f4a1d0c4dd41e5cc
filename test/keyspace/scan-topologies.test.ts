import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { scanKeyspace } from '../../src/keyspace/scan.js';
import { connectTarget } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startCluster, startPrimaryWithReplica, type RedisCluster } from '../support/redis.js';

describe('scan on a 3-master cluster', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startCluster();
    const client = new Cluster([{ host: '127.0.0.1', port: cluster.masters[0].port }]);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 3000; i++) writes.push(client.set(`session:${i}`, 'v'));
    for (let i = 0; i < 600; i++) writes.push(client.set(`cache:${i}`, 'v', 'EX', 300));
    await Promise.all(writes);
    await client.quit();
  });
  after(() => cluster.stop());

  it('reads every master and finds every key, labelled by node', async () => {
    const target = await connectTarget(resolveTarget({ url: cluster.url }, {}));
    try {
      const report = await scanKeyspace(target);
      assert.equal(report.target.mode, 'cluster');
      assert.equal(report.target.nodes.length, 3);
      for (const node of report.target.nodes) assert.ok(node.keysSeen > 500, `${node.address} saw ${node.keysSeen}`);
      assert.equal(report.totals.keys, 3600);
      assert.equal(report.coverage.method, 'lua');
      const by = new Map(report.patterns.map((p) => [p.pattern, p]));
      assert.equal(by.get('session:*')?.noTtlKeys, 3000);
      assert.equal(by.get('cache:*')?.noTtlKeys, 0);
    } finally {
      await target.close();
    }
  });
});

describe('scan with --replicas', () => {
  it('reads the replica of a primary and finds the same keys', async () => {
    const pair = await startPrimaryWithReplica();
    try {
      const p = pair.primary.client();
      for (let i = 0; i < 200; i++) await p.set(`k:${i}`, 'v');
      await p.call('WAIT', '1', '2000');
      p.disconnect();
      const target = await connectTarget(resolveTarget({ url: pair.primary.url, replicas: true }, {}));
      try {
        const report = await scanKeyspace(target);
        assert.equal(report.target.nodes[0].role, 'replica');
        assert.equal(report.target.nodes[0].address, `127.0.0.1:${pair.replica.port}`);
        assert.equal(report.totals.keys, 200);
      } finally {
        await target.close();
      }
    } finally {
      await pair.stop();
    }
  });
});
