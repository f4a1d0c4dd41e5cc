/**
 * doctor's findings do not depend on luck: a 12 MB string among 50,001 keys is found on every
 * run (every key is read when that fits the budget), text and --json runs on unchanged data give
 * the same findings, and above the budget a deterministic sample says what it is.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DoctorReport } from '../../src/doctor/index.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { cli, doctor, finding } from './support.js';

let server: RedisServer;
const BIG = 12 * 1024 * 1024;

before(async () => {
  server = await startRedis({ config: { maxmemory: '1gb', 'maxmemory-policy': 'noeviction' } });
  const c = server.client();
  await c.call('DEBUG', 'POPULATE', '40000', 'session', '200');
  const p = c.pipeline();
  for (let i = 0; i < 10_000; i++) p.set(`cache:item:${i}`, 'v'.repeat(100), 'EX', 36_000 + (i % 5000));
  await p.exec();
  await c.setrange('blob:upload:7', BIG - 1, 'x');
  assert.equal(await c.dbsize(), 50_001);
  c.disconnect();
});

after(async () => {
  await server?.stop();
});

/** [id, detail] of every finding a text report shows, in order. */
function textFindings(text: string): Array<[string, string]> {
  const lines = text.split('\n');
  const out: Array<[string, string]> = [];
  lines.forEach((line, i) => {
    const m = /^ {2}[✖▲·] .* \(([a-z-]+)\)(?: {2}\[.*\])?$/.exec(line);
    if (m) out.push([m[1], lines[i + 1].trim()]);
  });
  return out;
}

/** Findings whose text may change between runs only through the server's own counters (memory used). */
const KEYSPACE_RULES = ['keys-without-ttl', 'big-keys', 'lazyfree-off-with-big-keys', 'expiry-stampede', 'noeviction-full-risk'];

function comparable(findings: Array<[string, string]>): Array<[string, string]> {
  return findings.map(([id, detail]) => [id, KEYSPACE_RULES.includes(id) ? detail : '']);
}

/**
 * Reading every key must fit the budget for these runs. The default (5 s) covers 50,001 keys on
 * an idle 2-core machine several times over, but not always on one shared with other test runs:
 * under a load average of 9 the sample measured 174 µs per key (the latency guard pausing for
 * the busy machine) and estimated 8.2 s. What is tested here is that a read of every key finds
 * the key every time, so the budget is set wide.
 */
const WIDE = 60_000;

test('the 12 MB string among 50,001 keys is found in 10 runs out of 10, and doctor says it read every key', async () => {
  for (let run = 0; run < 10; run++) {
    const report = await doctor({ url: server.url }, { budgetMs: WIDE });
    assert.equal(report.target.keyspace?.read, 'all', `run ${run}: ${JSON.stringify(report.target.keyspace)}`);
    assert.equal(report.target.keyspace?.keysRead, 50_001);
    const big = finding(report, 'big-keys');
    assert.deepEqual(big.evidence.keys, ['blob:upload:7'], `run ${run}`);
    assert.deepEqual(big.coverage, { read: 'all', keysRead: 50_001, dbsize: 50_001 });
    assert.doesNotMatch(big.detail, /sample/);
    assert.equal(finding(report, 'lazyfree-off-with-big-keys').evidence.bigKeys, 1);
  }
  const text = await cli([server.url, '--budget', '60s']);
  assert.match(text.stdout, /^keyspace: all 50,001 keys read in [\d,]+ ms$/m);
  assert.match(text.stdout, /no TTL on 9\d% of bytes/);
});

test('text and --json runs on unchanged data give the same findings, with every key read and with a sample', async () => {
  for (const budget of [
    ['--budget', '60s'],
    ['--budget', '1ms'],
  ]) {
    const text = await cli([server.url, ...budget, '--growth-window', '0s']);
    const json = await cli([server.url, ...budget, '--growth-window', '0s', '--json']);
    const doc = JSON.parse(json.stdout) as DoctorReport;
    const fromJson = doc.findings.map((f): [string, string] => [f.id, f.detail]);
    assert.deepEqual(comparable(textFindings(text.stdout)), comparable(fromJson), budget.join(' '));
    assert.ok(fromJson.some(([id]) => id === 'keys-without-ttl'));
    // And a second run of the same kind agrees with the first.
    const again = JSON.parse((await cli([server.url, ...budget, '--growth-window', '0s', '--json'])).stdout) as DoctorReport;
    assert.deepEqual(comparable(again.findings.map((f) => [f.id, f.detail])), comparable(fromJson));
    assert.equal(again.target.keyspace?.keysRead, doc.target.keyspace?.keysRead);
  }
});

test('above the budget: a sample, the same keys on every run, with its coverage and confidence in every finding from it', async () => {
  const runs = await Promise.all([0, 1].map(() => doctor({ url: server.url }, { budgetMs: 1 })));
  const [first, second] = runs;
  const k = first.target.keyspace;
  assert.equal(k?.read, 'sample');
  assert.ok(k && k.keysRead > 5000 && k.keysRead < 20_000, JSON.stringify(k));
  assert.equal(k?.dbsize, 50_001);
  assert.match(k?.reason ?? '', /^reading all 50,001 keys would take about [\d.]+ m?s, over the budget of 1 ms \(--budget\)$/);
  assert.equal(k?.scanCommand, `keywarden scan ${server.url}`);
  assert.equal(second.target.keyspace?.keysRead, k?.keysRead, 'the same sample twice');

  const noTtl = finding(first, 'keys-without-ttl');
  assert.match(noTtl.detail, /^an estimated [\d,]+ \([\d,]+–[\d,]+\) keys without TTL \(estimated from [\d,]+ of 50,001 keys;/);
  assert.equal(noTtl.coverage?.read, 'sample');
  const [low, high] = noTtl.coverage?.interval ?? [0, 0];
  // A 95% interval misses 1 time in 20 (the server's hash seed decides which keys a stretch holds): allow twice its width.
  const half = (high - low) / 2;
  assert.ok(half > 0 && low - 2 * half <= 40_001 && 40_001 <= high + 2 * half, `the interval ${low}–${high} is near the truth`);
  const risk = finding(first, 'noeviction-full-risk');
  // The share is 93% with the 12 MB string, 86% without: whether the sample holds that one key is the hash seed's call.
  assert.match(risk.detail, /no TTL on an estimated \d+% ± (<1|\d+)% of bytes \(from [\d,]+ of 50,001 keys\)$/);
  const [shareLow, shareHigh] = risk.coverage?.interval ?? [1, 0];
  assert.ok(shareLow <= shareHigh);
  assert.deepEqual(
    first.findings.map((f) => [f.id, f.detail]).filter(([id]) => KEYSPACE_RULES.includes(id as string)),
    second.findings.map((f) => [f.id, f.detail]).filter(([id]) => KEYSPACE_RULES.includes(id as string)),
  );
  // The big key is one key in 50,001: the sample may or may not hold it, and says so either way.
  const big = first.findings.find((f) => f.id === 'big-keys');
  if (big) assert.equal(big.coverage?.mayMiss, `keywarden scan ${server.url}`);

  const text = await cli([server.url, '--budget', '1ms']);
  assert.match(
    text.stdout,
    /^keyspace: sample of [\d,]+ of 50,001 keys \(the same keys on every run\), read in [\d,]+ ms: reading all 50,001 keys would take about/m,
  );
  assert.ok(
    text.stdout.includes(
      `big keys and expiry clusters come from the sample and may miss single keys (a big one outside it also moves the shares): keywarden scan ${server.url} reads every key`,
    ),
    text.stdout,
  );
  const md = await cli([server.url, '--budget', '1ms', '--format', 'markdown']);
  assert.match(md.stdout, /keyspace: sample of [\d,]+ of 50,001 keys/);
});

test('the scan command named by a sampled report never carries the password', async () => {
  const secret = 'S3cret/with+slash=';
  const admin = server.client();
  try {
    await admin.call('ACL', 'SETUSER', 'auditor', 'on', `>${secret}`, '~*', '+@all');
  } finally {
    admin.disconnect();
  }
  const url = `redis://auditor:${encodeURIComponent(secret)}@127.0.0.1:${server.port}`;
  for (const format of [[], ['--json'], ['--format', 'markdown']]) {
    const out = await cli([url, '--budget', '1ms', ...format]);
    assert.ok(!out.stdout.includes(secret) && !out.stdout.includes(encodeURIComponent(secret)) && !out.stderr.includes(secret), format.join(' '));
    assert.ok(out.stdout.includes(`keywarden scan redis://127.0.0.1:${server.port} --user auditor (with REDISCLI_AUTH=<password> exported)`), format.join(' '));
  }
});

test('--budget takes a duration; a bad one is one line and exit 2', async () => {
  const bad = await cli([server.url, '--budget', 'soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^keywarden: --budget: 'soon' is not a duration\nhint: /);
});
