import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startCluster, startPrimaryWithReplica, startRedis } from './redis.js';

describe('test harness', () => {
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    await Promise.all(stops.map((s) => s()));
  });

  it('starts a standalone server with per-test config on a free port', async () => {
    const server = await startRedis({ config: { maxmemory: '10mb' } });
    stops.push(server.stop);
    assert.notEqual(server.port, 6379);
    const c = server.client();
    const [, value] = (await c.config('GET', 'maxmemory')) as string[];
    c.disconnect();
    assert.equal(value, String(10 * 1024 * 1024));
  });

  it('starts a primary with a synced replica', async () => {
    const pair = await startPrimaryWithReplica();
    stops.push(pair.stop);
    const p = pair.primary.client();
    await p.set('k', 'v');
    await p.call('WAIT', '1', '2000');
    const r = pair.replica.client();
    assert.equal(await r.get('k'), 'v');
    p.disconnect();
    r.disconnect();
  });

  it('starts a real 3-master cluster', async () => {
    const cluster = await startCluster();
    stops.push(cluster.stop);
    assert.equal(cluster.masters.length, 3);
    const c = cluster.masters[0].client();
    const slots = (await c.call('CLUSTER', 'SLOTS')) as unknown[];
    c.disconnect();
    assert.equal(slots.length, 3);
  });
});
