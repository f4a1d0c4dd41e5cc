/**
 * Memory and eviction rules on real servers put into each state, and a healthy server (with a
 * password) that stays quiet and never shows its password.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../support/redis.js';
import { cli, doctor, fillTo, finding, ids } from './support.js';

let unlimited: RedisServer;
let nearFull: RedisServer;
let healthy: RedisServer;
const PASSWORD = 'hunter2-Sup3rSecret';

before(async () => {
  [unlimited, nearFull, healthy] = await Promise.all([
    startRedis(),
    startRedis({ config: { maxmemory: '10mb', 'maxmemory-policy': 'noeviction' } }),
    startRedis({ config: { maxmemory: '64mb', 'maxmemory-policy': 'volatile-lru', requirepass: PASSWORD } }),
  ]);
  const u = unlimited.client();
  await u.call('DEBUG', 'POPULATE', '3000', 'user', '50');
  u.disconnect();
  const n = nearFull.client();
  await fillTo(n, 0.85);
  n.disconnect();
  const h = healthy.client({ password: PASSWORD });
  const p = h.pipeline();
  for (let i = 0; i < 3000; i++) p.set(`cache:item:${i}`, 'x'.repeat(100), 'EX', 3600 + (i % 600));
  await p.exec();
  h.disconnect();
});

after(async () => {
  await Promise.all([unlimited?.stop(), nearFull?.stop(), healthy?.stop()]);
});

test('maxmemory-unset and keys-without-ttl fire on a server without a limit and without TTLs', async () => {
  const report = await doctor({ url: unlimited.url });
  const unset = finding(report, 'maxmemory-unset');
  assert.equal(unset.severity, 'warning');
  assert.equal(unset.evidence.maxmemory, 0);
  assert.match(unset.fix[0], /^CONFIG SET maxmemory \d+(gb|mb)$/);
  const keys = finding(report, 'keys-without-ttl');
  assert.equal(keys.evidence.noTtlKeys, 3000);
  assert.deepEqual(keys.evidence.topPatterns, ['user:*']);
  assert.ok(
    keys.fix.some((l) => l.includes(`keywarden fix ${unlimited.url} --match 'user:*'`)),
    'the fix names the diagnosed server',
  );
  assert.equal(finding(report, 'auth-disabled').severity, 'warning');
});

test('noeviction-full-risk is critical at 85% of maxmemory; memory-near-limit warns with a time to full', async () => {
  const writer = nearFull.client();
  let i = 0;
  // Grow the dataset while the doctor measures: ~200 KB/s.
  const timer = setInterval(() => void writer.set(`grow:${i++}`, 'y'.repeat(10_000)).catch(() => undefined), 50);
  try {
    const report = await doctor({ url: nearFull.url }, { growthWindowMs: 1000 });
    const risk = finding(report, 'noeviction-full-risk');
    assert.equal(risk.severity, 'critical');
    assert.ok(Number(risk.evidence.usedRatio) >= 0.8);
    const near = finding(report, 'memory-near-limit');
    assert.equal(near.severity, Number(near.evidence.usedRatio) >= 0.9 ? 'critical' : 'warning');
    assert.ok(Number(near.evidence.secondsToFull) > 0, `time to full measured: ${near.detail}`);
    assert.match(near.detail, /full in about/);
    assert.ok(!ids(report).includes('maxmemory-unset'));
  } finally {
    clearInterval(timer);
    writer.disconnect();
  }
});

test('CLI: --json document, exit 1 at --fail-on critical, 0 with --fail-on none, text grouped by severity', async () => {
  const json = await cli([nearFull.url, '--json', '--no-sample']);
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.kind, 'keywarden.doctor');
  assert.equal(doc.schemaVersion, 1);
  assert.deepEqual(Object.keys(doc.findings[0]).sort(), ['detail', 'evidence', 'fix', 'id', 'node', 'severity', 'title', 'why']);
  assert.equal(doc.summary.critical, doc.findings.filter((f: { severity: string }) => f.severity === 'critical').length);
  assert.ok(doc.skipped.some((s: { id: string; reason: string }) => s.id === 'big-keys' && /--no-sample/.test(s.reason)));
  assert.equal((await cli([nearFull.url, '--fail-on', 'none', '--no-sample'])).code, 0);
  const text = await cli([nearFull.url, '--no-sample']);
  assert.ok(text.stdout.indexOf('CRITICAL') < text.stdout.indexOf('WARNING'));
  assert.match(text.stdout, /fix:\n {6}\S/);
  const md = await cli([nearFull.url, '--format', 'markdown', '--no-sample', '--fail-on', 'none']);
  assert.match(md.stdout, /^# keywarden doctor/);
  assert.match(md.stdout, /## Critical/);
});

test('CLI: connection and usage errors exit 2, as JSON with --json', async () => {
  const refused = await cli(['redis://127.0.0.1:1', '--json']);
  assert.equal(refused.code, 2);
  const err = JSON.parse(refused.stdout);
  assert.equal(err.kind, 'keywarden.error');
  assert.match(err.message, /refused/);
  assert.ok(err.hint);
  const bad = await cli([healthy.url, '--sample', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--sample 'lots'/);
  const wrong = await cli([`redis://:${PASSWORD}x@127.0.0.1:${healthy.port}`, '--json']);
  assert.equal(wrong.code, 2);
  assert.ok(!wrong.stdout.includes(PASSWORD) && !wrong.stderr.includes(PASSWORD));
});

test('a healthy server is quiet: password, maxmemory, volatile-lru, TTLs everywhere — and no output holds the password', async () => {
  const report = await doctor({ url: healthy.url, password: PASSWORD });
  const loud = report.findings.filter((f) => f.severity !== 'info');
  assert.deepEqual(loud, [], JSON.stringify(loud, null, 2));
  for (const id of [
    'maxmemory-unset',
    'noeviction-full-risk',
    'volatile-policy-without-ttls',
    'memory-near-limit',
    'keys-without-ttl',
    'auth-disabled',
    'evictions-occurring',
  ]) {
    assert.ok(!ids(report).includes(id), id);
  }
  const outputs = await Promise.all([
    cli([`redis://:${PASSWORD}@127.0.0.1:${healthy.port}`]),
    cli([healthy.url, '-a', PASSWORD, '--json']),
    cli([healthy.url, '--format', 'markdown'], { REDISCLI_AUTH: PASSWORD }),
  ]);
  for (const out of outputs) {
    assert.equal(out.code, 0, out.stderr);
    assert.ok(!out.stdout.includes(PASSWORD) && !out.stderr.includes(PASSWORD), 'password in output');
  }
  assert.match(outputs[0].stdout, /<credentials redacted>/);
});
