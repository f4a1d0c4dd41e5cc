/**
 * `keywarden rdb` and `keywarden report merge` end to end, on dumps written by real
 * redis-servers that the test starts (SAVE on its own servers).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ScanReport } from '../../src/keyspace/report.js';
import { ttlAt } from '../../src/rdb/audit.js';
import type { RdbKey } from '../../src/rdb/reader.js';
import { assertOneErrorLine, runCli } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';

let work: string;
let servers: RedisServer[] = [];
let dumpA: string;
let dumpB: string;

async function writeDump(server: RedisServer, prefix: string, to: string): Promise<void> {
  const c = server.client();
  try {
    const p = c.pipeline();
    for (let i = 0; i < 200; i++) p.set(`session:${prefix}${i}`, `user-${i}`);
    for (let i = 0; i < 100; i++) p.set(`cache:${prefix}${i}`, 'x'.repeat(100), 'PX', 3_600_000);
    for (let i = 0; i < 20; i++) p.hset(`user:${prefix}${i}:profile`, 'name', `n${i}`, 'email', `e${i}@example.com`);
    p.rpush(`queue:${prefix}jobs`, ...Array.from({ length: 5000 }, (_, i) => `job-${i}`));
    await p.exec();
    await c.save();
  } finally {
    c.disconnect();
  }
  copyFileSync(join(server.dir, 'dump.rdb'), to);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'keywarden-rdb-cli-'));
  servers = [await startRedis(), await startRedis()];
  dumpA = join(work, 'a.rdb');
  dumpB = join(work, 'b.rdb');
  await writeDump(servers[0], 'a', dumpA);
  await writeDump(servers[1], 'b', dumpB);
});

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(work, { recursive: true, force: true });
});

async function json(args: string[]): Promise<ScanReport> {
  const run = await runCli(args);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as ScanReport;
}

test('rdb: the scan report from a dump, TTLs judged at the dump time (ctime)', async () => {
  const r = await json(['rdb', dumpA, '--json']);
  assert.equal(r.kind, 'keywarden.scan');
  assert.equal(r.target.mode, 'rdb');
  assert.equal(r.coverage.method, 'rdb');
  assert.equal(r.target.files?.[0].path, dumpA);
  assert.equal(r.target.files?.[0].judgedFrom, 'ctime');
  assert.equal(r.target.files?.[0].checksum, 'verified');
  assert.equal(r.totals.keys, 321);
  assert.equal(r.coverage.expired?.keys, 0);
  const byPattern = new Map(r.patterns.map((p) => [p.pattern, p]));
  assert.equal(byPattern.get('session:*')?.noTtlKeys, 200);
  assert.equal(byPattern.get('cache:*')?.noTtlKeys, 0);
  assert.equal(byPattern.get('cache:*')?.ttl.lt1d, 100);
  assert.equal(byPattern.get('user:*:profile')?.keys, 20);
  assert.equal(r.bigKeys[0].key, 'queue:ajobs');
  assert.equal(r.bigKeys[0].length, 5000);
});

test('rdb --now: keys already expired at that time are counted apart', async () => {
  const r = await json(['rdb', dumpA, '--json', '--now', new Date(Date.now() + 2 * 3_600_000).toISOString()]);
  assert.equal(r.coverage.expired?.keys, 100);
  assert.ok((r.coverage.expired?.bytes ?? 0) > 100 * 100);
  assert.equal(r.totals.keys, 221);
  assert.equal(r.target.files?.[0].judgedFrom, 'now-flag');
  assert.ok(!r.patterns.some((p) => p.pattern === 'cache:*'));
});

test('rdb --match/--type filter keys; --top caps big keys; table output names the file and time', async () => {
  const r = await json(['rdb', dumpA, '--json', '--match', 'session:*', '--top', '3']);
  assert.equal(r.totals.keys, 200);
  assert.equal(r.bigKeys.length, 3);
  const h = await json(['rdb', dumpA, '--json', '--type', 'hash']);
  assert.equal(h.totals.keys, 20);
  const table = await runCli(['rdb', dumpA]);
  assert.equal(table.code, 0);
  assert.match(table.stdout, /session:\*/);
  assert.match(table.stdout, /TTLs judged at \d{4}-\d\d-\d\dT.*\(ctime\)/);
});

test('rdb --policy: exit 1 when keys break their rule', async () => {
  const policy = join(work, 'keywarden.yml');
  writeFileSync(policy, 'rules:\n  - match: "session:*"\n    ttl: 24h\n  - match: "cache:*"\n    ttl: 2h\n');
  const run = await runCli(['rdb', dumpA, '--json', '--policy', policy]);
  assert.equal(run.code, 1);
  const r = JSON.parse(run.stdout) as ScanReport;
  assert.equal(r.policy?.violations, 200);
});

test('rdb with two dumps (two masters): one keyspace with per-node figures, read in worker threads; report merge gives the same', async () => {
  const both = await json(['rdb', dumpA, dumpB, '--json']);
  assert.equal(both.target.nodes.length, 2);
  assert.deepEqual(
    both.target.nodes.map((n) => n.keysSeen),
    [321, 321],
  );
  assert.equal(both.totals.keys, 642);
  assert.equal(both.patterns.find((p) => p.pattern === 'session:*')?.keys, 400);

  const a = join(work, 'a.json');
  const b = join(work, 'b.json');
  writeFileSync(a, JSON.stringify(await json(['rdb', dumpA, '--json'])));
  writeFileSync(b, JSON.stringify(await json(['rdb', dumpB, '--json'])));
  const merged = await json(['report', 'merge', a, b, '--json']);
  assert.deepEqual(merged.totals, both.totals);
  assert.deepEqual(
    merged.patterns.map((p) => [p.pattern, p.keys, p.bytes, p.noTtlKeys, p.ttl]),
    both.patterns.map((p) => [p.pattern, p.keys, p.bytes, p.noTtlKeys, p.ttl]),
  );
  assert.deepEqual(merged.bigKeys, both.bigKeys);
  assert.equal(merged.target.nodes.length, 2);
});

test('report merge refuses a file that is not a scan report, in one line', async () => {
  const bad = join(work, 'bad.json');
  writeFileSync(bad, '{"kind":"keywarden.lint"}');
  const run = await runCli(['report', 'merge', bad]);
  assert.equal(run.code, 2);
  assertOneErrorLine(run.stderr);
  assert.match(run.stderr, /not a keywarden scan report/);
});

test('rdb refuses, in one line with exit 2: a missing file, an unknown version, a truncated dump (naming the byte offset)', async () => {
  const missing = await runCli(['rdb', join(work, 'nope.rdb')]);
  assert.equal(missing.code, 2);
  assertOneErrorLine(missing.stderr);

  const future = join(work, 'future.rdb');
  writeFileSync(future, Buffer.concat([Buffer.from('REDIS0013'), readFileSync(dumpA).subarray(9)]));
  const v13 = await runCli(['rdb', future]);
  assert.equal(v13.code, 2);
  assertOneErrorLine(v13.stderr);
  assert.match(v13.stderr, /REDIS0013/);

  const cut = join(work, 'cut.rdb');
  const whole = readFileSync(dumpA);
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
  const truncated = await runCli(['rdb', cut]);
  assert.equal(truncated.code, 2);
  assertOneErrorLine(truncated.stderr);
  assert.match(truncated.stderr, /at byte \d+/);

  const json2 = await runCli(['rdb', cut, '--json']);
  assert.equal(json2.code, 2);
  assert.equal((JSON.parse(json2.stdout) as { kind: string }).kind, 'keywarden.error');
});

test('a hash whose fields all expire takes the TTL of its last field; one with a field without TTL has none', () => {
  const base = { key: Buffer.from('h'), db: 0, type: 'hash', encoding: 'hashtable-ex', length: 2, bytes: 100, totalBytes: 150, expireAtMs: -1 } as const;
  const all: RdbKey = { ...base, fieldExpiry: { volatile: 2, lastExpireAtMs: 10_000 } };
  const some: RdbKey = { ...base, fieldExpiry: { volatile: 1, lastExpireAtMs: 10_000 } };
  assert.equal(ttlAt(all, 4_000), 6_000);
  assert.equal(ttlAt(all, 10_000), undefined);
  assert.equal(ttlAt(some, 4_000), -1);
  assert.equal(ttlAt({ ...base, expireAtMs: 5_000 }, 4_000), 1_000);
});

test('demo --save-rdb writes the incident as a dump that keywarden rdb reads: the same keys and patterns as the live audit', async () => {
  const file = join(work, 'incident.rdb');
  const demo = await runCli(['demo', '--keys', '3000', '--json', '--save-rdb', file]);
  assert.equal(demo.code, 0, demo.stderr);
  const live = JSON.parse(demo.stdout) as ScanReport;
  const offline = await json(['rdb', file, '--json']);
  assert.equal(offline.totals.keys + (offline.coverage.expired?.keys ?? 0), live.totals.keys);
  const sessions = offline.patterns.find((p) => p.pattern === 'session:*');
  assert.equal(sessions?.noTtlKeys, live.patterns.find((p) => p.pattern === 'session:*')?.noTtlKeys);
  assert.equal(offline.totals.noTtlBytes > 0, true);
});

test('rdb --fetch streams a snapshot over the replication protocol (REPLCONF rdb-only): the same report as the saved dump; --save keeps a copy', async () => {
  const fromFile = await json(['rdb', dumpA, '--json']);
  const saved = join(work, 'fetched.rdb');
  const fetched = await json(['rdb', '--fetch', servers[0].url, '--json', '--save', saved]);
  assert.equal(fetched.target.mode, 'rdb');
  assert.deepEqual(fetched.totals, fromFile.totals);
  assert.deepEqual(
    fetched.patterns.map((p) => [p.pattern, p.keys, p.bytes, p.noTtlKeys]),
    fromFile.patterns.map((p) => [p.pattern, p.keys, p.bytes, p.noTtlKeys]),
  );
  const again = await json(['rdb', saved, '--json']);
  assert.deepEqual(again.totals, fromFile.totals);

  // A server without diskless sync sends a length-prefixed snapshot instead of an EOF-marked stream.
  const disk = await startRedis({ config: { 'repl-diskless-sync': 'no' } });
  try {
    const c = disk.client();
    await c.set('k', 'v');
    c.disconnect();
    const viaDisk = await json(['rdb', '--fetch', disk.url, '--json']);
    assert.equal(viaDisk.totals.keys, 1);
  } finally {
    await disk.stop();
  }
});

test('rdb --fetch: a wrong password and a server that refuses SYNC end in one line, exit 2', async () => {
  const locked = await startRedis({ config: { requirepass: 'right' } });
  const noSync = await startRedis({ args: ['--rename-command', 'SYNC', ''] });
  try {
    const auth = await runCli(['rdb', '--fetch', `redis://:wrong@127.0.0.1:${locked.port}`]);
    assert.equal(auth.code, 2);
    assertOneErrorLine(auth.stderr.replace(/^keywarden: fetching.*\n/, ''));
    assert.match(auth.stderr, /authentication failed/);
    assert.doesNotMatch(auth.stderr, /wrong/);
    const refused = await runCli(['rdb', '--fetch', noSync.url]);
    assert.equal(refused.code, 2);
    assertOneErrorLine(refused.stderr.replace(/^keywarden: fetching.*\n/, ''));
    assert.match(refused.stderr, /refuses SYNC/);
  } finally {
    await locked.stop();
    await noSync.stop();
  }
});
