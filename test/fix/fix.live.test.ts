/**
 * fix, undo and policy init against one real standalone redis-server (shared by the file;
 * each test uses its own key prefix or database and cleans up).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { MEASURE_EVERY, MEASURE_FIRST } from '../../src/fix/byte-sample.js';
import { applyFix, planFix, undoFix } from '../../src/fix/index.js';
import { adHocPolicy, parsePolicy } from '../../src/policy/index.js';
import { connectTarget, type Target } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { calls, cli, fill, ttlCounts } from './support.js';

const POLICY = `
rules:
  - match: "session:*"
    ttl: 24h
    role: session
  - match: "cache:*"
    ttl: 1h
    jitter: 10%
  - match: "user:*:profile"
    role: durable
`;

describe('fix on a standalone server', () => {
  let server: RedisServer;
  let client: Redis;
  let dir: string;
  const connect = (db = 0): Promise<Target> => connectTarget(resolveTarget({ url: server.url, db }, {}));

  before(async () => {
    server = await startRedis();
    client = server.client();
    dir = mkdtempSync(join(tmpdir(), 'keywarden-fix-'));
  });
  after(async () => {
    client.disconnect();
    await server.stop();
  });

  async function seed(db: number): Promise<Redis> {
    const c = server.client({ db });
    await c.flushdb();
    await fill(c, 'session:', 20_000);
    await fill(c, 'cache:', 5_000);
    await fill(c, 'cache:ttl:', 1_000, { ttlSeconds: 100 });
    await fill(c, 'user:', 2_000);
    await c.set('user:1:profile', 'p');
    await c.set('orphan:1', 'o');
    return c;
  }

  it('a dry run sends no write: no EXPIRE of any kind, no change to the dataset', async () => {
    const c = await seed(1);
    await client.config('RESETSTAT');
    const dirty = async () => Number(/rdb_changes_since_last_save:(\d+)/.exec(await client.info('persistence'))?.[1]);
    const before = await dirty();
    const target = await connect(1);
    try {
      const report = await planFix(target, { policy: parsePolicy(POLICY, 'keywarden.yml') });
      assert.equal(report.dryRun, true);
      assert.equal(report.totals.needTtl, 25_000);
      assert.equal(report.totals.applied, 0);
      assert.equal(report.rules[1].alreadyHadTtl, 1_000);
      assert.equal(report.totals.durable, 1);
      assert.equal(report.totals.noRule, 2_001);
      assert.ok(report.totals.bytes > 25_000 * 10);
      assert.equal(report.journal, null);
    } finally {
      await target.close();
    }
    const stats = await client.info('commandstats');
    for (const write of ['expire', 'pexpire', 'expireat', 'pexpireat', 'persist', 'del', 'unlink', 'set', 'flushdb', 'flushall', 'keys']) {
      assert.doesNotMatch(stats, new RegExp(`cmdstat_${write}:`), `dry run sent ${write.toUpperCase()}`);
    }
    assert.equal(await dirty(), before, 'the dataset changed during a dry run');
    assert.deepEqual(await ttlCounts(c, 'session:*'), { withTtl: 0, without: 20_000 });
    c.disconnect();
  });

  it('applies TTLs with NX only: existing TTLs, durable and unmatched keys untouched, race-safe, journaled', async () => {
    const c = await seed(2);
    const bin = Buffer.from([0x73, 0x65, 0x73, 0x73, 0x69, 0x6f, 0x6e, 0x3a, 0x00, 0xff, 0x1b, 0x5b, 0x33, 0x31, 0x6d]); // session:\0\xff\x1b[31m
    await c.set(bin, 'b');
    await c.set('session:has-ttl', 'x', 'EX', 500);
    await c.set('session:doomed', 'x');
    const journal = join(dir, 'apply.jsonl');
    const target = await connect(2);
    let raced: Buffer | undefined;
    let doomed = false;
    try {
      const report = await applyFix(target, {
        policy: parsePolicy(POLICY, 'keywarden.yml'),
        journal,
        random: () => 0.5,
        // Between our scan and our write, the application gives one key without TTL a TTL,
        // and deletes another.
        async beforeWrite(keys) {
          if (!doomed && keys.some((k) => k.toString() === 'session:doomed')) doomed = (await c.del('session:doomed')) === 1;
          if (raced) return;
          raced = keys.find((k) => /^session:\d+$/.test(k.toString()));
          if (raced) await c.pexpire(raced, 777_777);
        },
      });
      assert.equal(report.dryRun, false);
      // Apply reads no TTL before writing: needTtl is what had none when written (= applied),
      // and the raced key counts with the keys that already had a TTL.
      assert.equal(report.totals.needTtl, 25_000);
      assert.equal(report.totals.applied, 25_000);
      assert.equal(report.rules[0].alreadyHadTtl, 2, 'session:has-ttl and the raced key');
      assert.equal(report.rules[1].alreadyHadTtl, 1_000);
      assert.ok(doomed);
      assert.equal(report.totals.changedSinceScan, 1, 'the key deleted between scan and write');
      assert.ok(report.totals.bytes > 25_000 * 10, 'bytes of the keys written');
      assert.equal(report.bytesUnmeasured, undefined);
      assert.equal(report.journal, journal);
      assert.equal(report.complete, true);
    } finally {
      await target.close();
    }
    assert.ok(raced);
    const racedTtl = await c.pttl(raced);
    assert.ok(racedTtl > 0 && racedTtl <= 777_777, `the TTL set between scan and write was overwritten: ${racedTtl}`);
    assert.ok((await c.ttl('session:has-ttl')) <= 500);
    const binTtl = await c.pttl(bin);
    assert.ok(binTtl > 23 * 3600_000 && binTtl <= 24 * 3600_000, `binary key TTL ${binTtl}`);
    const cacheTtl = await c.pttl('cache:1');
    assert.ok(cacheTtl > 3_360_000 && cacheTtl <= 3_420_000, `jitter 10% at random 0.5 gives 57 minutes, got ${cacheTtl}`);
    assert.equal(await c.pttl('user:1:profile'), -1);
    assert.equal(await c.pttl('orphan:1'), -1);
    assert.deepEqual(await ttlCounts(c, 'user:*'), { withTtl: 0, without: 2_001 });
    assert.equal((await ttlCounts(c, 'session:*')).without, 0);

    // Undo: only what fix set, only while it is still what fix set.
    await c.expire('session:1', 10 * 86400); // longer TTL given by the application
    await c.del('session:2'); // gone
    await c.set('session:3', 'recreated'); // re-created without TTL
    await c.set('session:4', 'recreated', 'EX', 60); // re-created with its own short TTL
    const undoTarget = await connect(2);
    try {
      const dry = await undoFix(undoTarget, { journal, dryRun: true });
      assert.equal(dry.persisted, 25_000 - 4);
      assert.equal((await ttlCounts(c, 'session:*')).without, 1);
      const report = await undoFix(undoTarget, { journal });
      // Keys NX refused (they had a TTL, the raced one included) were never fix's: not counted.
      assert.equal(report.journaled, 25_000);
      assert.equal(report.persisted, 25_000 - 4);
      assert.deepEqual(
        { ...report.skipped },
        { gone: 1, noTtl: 1, longerTtl: 1, otherTtl: 1, refused: 0, shortened: 0, unknownNode: 0, migrating: 0, unreachable: 0, unconfirmed: 0 },
      );
    } finally {
      await undoTarget.close();
    }
    assert.ok((await c.ttl('session:1')) > 86400);
    assert.ok((await c.ttl('session:4')) > 0);
    assert.ok((await c.pttl(raced)) > 0, 'undo removed a TTL fix did not set');
    assert.ok((await c.ttl('session:has-ttl')) > 0);
    assert.equal(await c.pttl(bin), -1);
    assert.equal(await c.pttl('cache:1'), -1);
    assert.equal((await ttlCounts(c, 'cache:ttl:*')).withTtl, 1_000);
    c.disconnect();
  });

  it('--apply reads nothing before writing: one PEXPIRE per covered key, MEMORY only for keys written (INFO commandstats)', async () => {
    const c = server.client({ db: 9 });
    await c.flushdb();
    await fill(c, 'session:', 3_000);
    await fill(c, 'cache:ttl:', 1_000, { ttlSeconds: 100 });
    await fill(c, 'user:', 500);
    await c.set('user:1:profile', 'p');
    await client.config('RESETSTAT');
    const target = await connect(9);
    try {
      const report = await applyFix(target, { policy: parsePolicy(POLICY, 'keywarden.yml'), journal: join(dir, 'stats.jsonl') });
      assert.equal(report.totals.applied, 3_000);
      assert.equal(report.totals.needTtl, 3_000);
      assert.equal(report.totals.alreadyHadTtl, 1_000);
      assert.equal(report.totals.durable, 1);
      assert.equal(report.totals.noRule, 500);
      assert.equal(report.bytesEstimated, true, 'the bytes freed are scaled from the sample');
    } finally {
      await target.close();
    }
    for (const read of ['type', 'pttl', 'ttl', 'strlen', 'object']) assert.equal(await calls(client, read), 0, `apply sent ${read.toUpperCase()}`);
    // MEMORY USAGE only for keys written, and of those a sample: the rule's first ones, then one in MEASURE_EVERY.
    const sampled = MEASURE_FIRST + Math.floor(3_000 / MEASURE_EVERY) - Math.floor(MEASURE_FIRST / MEASURE_EVERY);
    assert.equal(await calls(client, 'memory\\|usage'), sampled, 'MEMORY USAGE only for the keys written');
    assert.equal(await calls(client, 'pexpire'), 4_000, 'PEXPIRE only for keys a rule gives a TTL (never durable or unmatched ones)');
    assert.equal(await calls(client, 'exists'), 1_000, 'EXISTS only for keys NX refused');
    c.disconnect();
  });

  it('--max-ttl shortens longer TTLs with LT and caps new ones; undo leaves shortened keys alone', async () => {
    const c = server.client({ db: 3 });
    await c.flushdb();
    await fill(c, 'cache:long:', 500, { ttlSeconds: 30 * 86400 });
    await fill(c, 'cache:short:', 500, { ttlSeconds: 60 });
    await fill(c, 'cache:none:', 500);
    const journal = join(dir, 'maxttl.jsonl');
    const target = await connect(3);
    try {
      const policy = adHocPolicy('cache:*', '7d');
      const plan = await planFix(target, { policy, maxTtlMs: 3600_000 });
      assert.equal(plan.totals.shortened, 500);
      assert.equal((await c.ttl('cache:long:1')) > 86400, true);
      const report = await applyFix(target, { policy, maxTtlMs: 3600_000, journal });
      assert.equal(report.totals.shortened, 500);
      assert.equal(report.totals.applied, 500);
      const undo = await undoFix(target, { journal });
      assert.equal(undo.skipped.shortened, 500);
      assert.equal(undo.persisted, 500);
    } finally {
      await target.close();
    }
    assert.ok((await c.ttl('cache:long:1')) <= 3600);
    assert.ok((await c.ttl('cache:short:1')) <= 60);
    assert.equal(await c.ttl('cache:none:1'), -1);
    c.disconnect();
  });

  it('walks every database when none is given', async () => {
    const a = server.client({ db: 5 });
    const b = server.client({ db: 6 });
    await a.flushdb();
    await b.flushdb();
    await fill(a, 'tmp:', 300);
    await fill(b, 'tmp:', 400);
    const spec = resolveTarget({ url: server.url }, {});
    const target = await connectTarget(spec);
    try {
      const report = await applyFix(target, { policy: adHocPolicy('tmp:*', '1h'), db: undefined, journal: join(dir, 'dbs.jsonl') });
      assert.equal(report.totals.applied, 700);
    } finally {
      await target.close();
    }
    assert.equal((await ttlCounts(a, 'tmp:*')).without, 0);
    assert.equal((await ttlCounts(b, 'tmp:*')).without, 0);
    a.disconnect();
    b.disconnect();
  });

  it('works over maxmemory with noeviction, when every other write is refused', async () => {
    const c = server.client({ db: 7 });
    await c.flushdb();
    await fill(c, 'leak:', 2000);
    const used = Number(/used_memory:(\d+)/.exec(await c.info('memory'))?.[1]);
    await c.config('SET', 'maxmemory-policy', 'noeviction');
    await c.config('SET', 'maxmemory', String(used - 100_000));
    try {
      await assert.rejects(c.set('x', 'y'), /OOM/);
      const target = await connect(7);
      try {
        const report = await applyFix(target, { policy: adHocPolicy('leak:*', '1h'), journal: join(dir, 'oom.jsonl') });
        assert.equal(report.totals.applied, 2000);
      } finally {
        await target.close();
      }
    } finally {
      await c.config('SET', 'maxmemory', '0');
    }
    assert.equal((await ttlCounts(c, 'leak:*')).without, 0);
    c.disconnect();
  });

  it('CLI: --json shape, policy init round trip, one-line errors with exit 2', async () => {
    const c = await seed(8);
    await fill(c, 'token:', 300, { ttlSeconds: 1700 });
    const url = `${server.url}/8`;
    const init = await cli(['policy', 'init', url]);
    assert.equal(init.code, 0, init.stderr);
    const policy = parsePolicy(init.stdout, 'init.yml');
    const byMatch = new Map(policy.rules.map((r) => [r.match, r]));
    assert.equal(byMatch.get('session:*')?.ttlMs, 86400_000);
    assert.equal(byMatch.get('token:*')?.ttlMs, 1800_000, 'a TTL suggested from the TTLs the pattern has');
    assert.equal(byMatch.get('user:*')?.role, 'durable');
    assert.match(init.stdout, /# ~\d{2},\d{3} keys, [\d.]+ MiB, 100% without TTL; no TTL seen; ttl from the name \(session\)/);
    const file = join(dir, 'cli.yml');
    (await import('node:fs')).writeFileSync(file, POLICY);

    const dry = await cli(['fix', url, '--policy', file, '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const doc = JSON.parse(dry.stdout);
    assert.equal(doc.kind, 'keywarden.fix');
    assert.equal(doc.dryRun, true);
    assert.deepEqual(
      Object.keys(doc.rules[0]).filter((k) => ['match', 'ttl', 'matched', 'needTtl', 'applied', 'alreadyHadTtl', 'bytes'].includes(k)).length,
      7,
    );
    assert.equal(doc.rules[0].needTtl, 20_000);
    assert.equal(doc.journal, null);

    const journal = join(dir, 'cli.jsonl');
    const applied = await cli(['fix', url, '--policy', file, '--apply', '--journal', journal, '--json']);
    assert.equal(JSON.parse(applied.stdout).totals.applied, 25_000);
    const again = await cli(['fix', url, '--policy', file, '--apply', '--journal', journal]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^keywarden: journal .* already exists\nhint: add --resume/);
    const text = await cli(['undo', url, '--journal', journal]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /PERSIST 25,000 of 25,000 journaled keys/);
    assert.ok(readFileSync(journal, 'utf8').includes('"t":"end"'));

    const bad = join(dir, 'bad.yml');
    (await import('node:fs')).writeFileSync(bad, 'rules:\n  - match: "a:*"\n    ttl: 2x\n');
    const badPolicy = await cli(['fix', url, '--policy', bad]);
    assert.equal(badPolicy.code, 2);
    assert.match(badPolicy.stderr, /^keywarden: .*bad\.yml:3: rules\[0\]\.ttl: '2x' is not a duration/);
    const refused = await cli(['fix', 'redis://127.0.0.1:1', '--match', 'a:*', '--ttl', '1h', '--json']);
    assert.equal(refused.code, 2);
    assert.equal(JSON.parse(refused.stdout).kind, 'keywarden.error');
    const noRules = await cli(['fix', url]);
    assert.equal(noRules.code, 2);
    assert.match(noRules.stderr, /hint: add --policy/);
    c.disconnect();
  });
});
