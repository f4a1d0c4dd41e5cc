/**
 * Security, replication and cluster rules, and checks listed as skipped when a restricted user
 * may not run CONFIG or ACL (as on managed services).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, startPrimaryWithReplica, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';
import { doctor, finding, ids } from './support.js';

let open: RedisServer;
let pair: Awaited<ReturnType<typeof startPrimaryWithReplica>>;
let cluster: RedisCluster;

before(async () => {
  open = await startRedis({ config: { bind: '0.0.0.0', 'protected-mode': 'no' } });
  pair = await startPrimaryWithReplica();
  cluster = await startCluster();
});

after(async () => {
  await Promise.all([open?.stop(), pair?.stop(), cluster?.stop()]);
});

test('auth-disabled, protected-mode-off and bind-all-interfaces on an open server', async () => {
  const report = await doctor({ url: open.url }, { sample: false });
  assert.equal(finding(report, 'auth-disabled').severity, 'critical');
  assert.equal(finding(report, 'protected-mode-off').severity, 'critical');
  assert.equal(finding(report, 'bind-all-interfaces').evidence.bind, '0.0.0.0');
  // The primary of the pair binds 127.0.0.1 with protected mode on: only auth-disabled (warning).
  const local = await doctor({ url: pair.primary.url }, { sample: false });
  assert.equal(finding(local, 'auth-disabled').severity, 'warning');
  assert.ok(!ids(local).includes('protected-mode-off') && !ids(local).includes('bind-all-interfaces'));
});

test('dangerous-commands-allowed: an application ACL user with FLUSHALL and KEYS; skipped checks for a user without CONFIG or ACL', async () => {
  const c = open.client();
  try {
    await c.call('ACL', 'SETUSER', 'app', 'on', '>app-pw', '~*', '&*', '+@all', '-@admin');
    await c.call('ACL', 'SETUSER', 'reader', 'on', '>reader-pw', '~*', '&*', '+@all', '-@admin');
    await c.call('ACL', 'SETUSER', 'admin', 'on', '>admin-pw', '~*', '&*', '+@all');
    const f = finding(await doctor({ url: open.url }, { sample: false }), 'dangerous-commands-allowed');
    assert.equal(f.severity, 'warning');
    assert.deepEqual(f.evidence.users, ['app', 'default', 'reader'], 'admin is an operator account, not flagged');
    assert.deepEqual((f.evidence.commands as string[]).sort(), ['CONFIG', 'DEBUG', 'FLUSHALL', 'FLUSHDB', 'KEYS'].sort());

    // Like a managed service: this user may read INFO and scan, but not CONFIG or ACL.
    const report = await doctor({ url: open.url, user: 'reader', password: 'reader-pw' });
    const skipped = new Map(report.skipped.map((s) => [s.id, s.reason]));
    assert.match(skipped.get('dangerous-commands-allowed') ?? '', /ACL LIST is not allowed for this user \(NOPERM\)/);
    assert.match(skipped.get('dangerous-commands-in-slowlog') ?? '', /SLOWLOG GET is not allowed/);
    // maxmemory and its policy still come from INFO, so these checks run.
    assert.ok(ids(report).includes('maxmemory-unset'));
    assert.ok(!skipped.has('maxmemory-unset') && !skipped.has('keys-without-ttl'));
    assert.match(skipped.get('auth-disabled') ?? '', /not allowed/);
  } finally {
    c.disconnect();
  }
});

test('replication-lag on the primary while its replica is blocked; replica-link-down once the primary is gone', async () => {
  const blocker = pair.replica.client();
  try {
    void blocker.call('DEBUG', 'SLEEP', '6').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 5500));
    const lag = finding(await doctor({ url: pair.primary.url }, { sample: false }), 'replication-lag');
    assert.ok((lag.evidence.lagSeconds as number[])[0] >= 5);
    // The replica wakes at 6 s and acknowledges within its next replication cron (1 s);
    // on a loaded machine that can take longer, so wait for the finding to clear (bounded).
    let lagging = true;
    for (const deadline = Date.now() + 8000; lagging && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 500));
      lagging = ids(await doctor({ url: pair.primary.url }, { sample: false })).includes('replication-lag');
    }
    assert.ok(!lagging, 'quiet once caught up');
    assert.ok(!ids(await doctor({ url: pair.replica.url }, { sample: false })).includes('replica-link-down'));
    await pair.primary.stop();
    const down = finding(await doctor({ url: pair.replica.url }, { sample: false }), 'replica-link-down');
    assert.equal(down.severity, 'critical');
    assert.equal(down.evidence.primary, `127.0.0.1:${pair.primary.port}`);
  } finally {
    blocker.disconnect();
  }
});

test('cluster: findings labelled by node, memory imbalance and uncovered slots at cluster level', async () => {
  const healthy = await doctor({ url: cluster.url });
  assert.ok(!ids(healthy).includes('cluster-slots-uncovered') && !ids(healthy).includes('cluster-memory-imbalance'));
  const unset = healthy.findings
    .filter((f) => f.id === 'maxmemory-unset')
    .map((f) => f.node)
    .sort();
  assert.deepEqual(unset, cluster.masters.map((m) => `127.0.0.1:${m.port}`).sort());

  const first = cluster.masters[0].client();
  try {
    await first.call('DEBUG', 'POPULATE', '700000', 'imbalance', '100');
    const imbalance = finding(await doctor({ url: cluster.url }, { sample: false }), 'cluster-memory-imbalance');
    assert.equal(imbalance.evidence.largestNode, `127.0.0.1:${cluster.masters[0].port}`);
    assert.equal(imbalance.node, undefined, 'a cluster-level finding');
    await first.call('FLUSHALL');
    // Take one slot away from its owner: the cluster no longer covers all 16384.
    const owner = cluster.masters[1].client();
    const slots = (await owner.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const mine = slots.find((s) => s[2][1] === cluster.masters[1].port);
    assert.ok(mine);
    await owner.call('CLUSTER', 'DELSLOTS', String(mine[0]));
    owner.disconnect();
    await new Promise((r) => setTimeout(r, 300));
    const uncovered = finding(await doctor({ url: cluster.url }, { sample: false }), 'cluster-slots-uncovered');
    assert.equal(uncovered.severity, 'critical');
    assert.ok(Number(uncovered.evidence.slotsAssigned) < 16384);
  } finally {
    first.disconnect();
  }
});
