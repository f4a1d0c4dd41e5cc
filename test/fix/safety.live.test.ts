/**
 * Issue #13, "no flag, fault or race may make fix or undo lose a key or a TTL": each case
 * against real redis-servers. One standalone server is shared by the file (each test its own
 * database and key prefix); the EVAL-renamed server and the REDIS_URL decoy are their own.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis as RedisClient } from 'ioredis';
import { Redis } from 'ioredis';
import { applyFix } from '../../src/fix/index.js';
import { expireArgs } from '../../src/fix/writer.js';
import { guard } from '../../src/index.js';
import { luaScript, runScript } from '../../src/lua/index.js';
import { adHocPolicy, compileGlob, parsePolicy } from '../../src/policy/index.js';
import { connectTarget } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { doctor } from '../doctor/support.js';
import { assertOneErrorLine } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { calls, cli, fill, ttlCounts } from './support.js';

const DAY_S = 86_400;

describe('data safety of fix and undo (issue #13)', () => {
  let server: RedisServer;
  let admin: RedisClient;
  let dir: string;

  before(async () => {
    server = await startRedis();
    admin = server.client();
    dir = mkdtempSync(join(tmpdir(), 'keywarden-safety-'));
  });
  after(async () => {
    admin.disconnect();
    await server.stop();
  });

  const db = async (n: number, prefix: string, count: number): Promise<RedisClient> => {
    const c = server.client({ db: n });
    await c.flushdb();
    await fill(c, prefix, count);
    return c;
  };
  const writes = async () =>
    ['pexpire', 'expire', 'persist', 'pexpireat', 'eval', 'evalsha'].reduce(async (s, c) => (await s) + (await calls(admin, c)), Promise.resolve(0));

  it('1. no TTL below one second from any source: --max-ttl 0/500ms, --ttl 500ms, a bare --ttl 24, the library, the scripts, guard()', async () => {
    const c = await db(1, 'session:', 2_500);
    try {
      await admin.config('RESETSTAT');
      const url = `${server.url}/1`;
      for (const args of [
        ['--match', 'session:*', '--ttl', '24h', '--max-ttl', '0'],
        ['--match', 'session:*', '--ttl', '24h', '--max-ttl', '500ms'],
        ['--match', 'session:*', '--ttl', '500ms'],
        ['--match', 'session:*', '--ttl', '24'],
      ]) {
        const run = await cli(['fix', url, ...args, '--apply', '--journal', join(dir, `min-${args.join('')}.jsonl`)]);
        assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
        assertOneErrorLine(run.stderr);
      }
      const bare = await cli(['fix', url, '--match', 'session:*', '--ttl', '24', '--apply']);
      assert.match(bare.stderr, /--ttl 24 has no unit: with --apply that would be 24 seconds\nhint: write --ttl 24s if you mean seconds \(or --ttl 24h/);
      const zero = await cli(['fix', url, '--match', 'session:*', '--ttl', '24h', '--max-ttl', '0', '--apply']);
      assert.match(zero.stderr, /--max-ttl: 0s is below the minimum key TTL of 1s/);
      // A policy rule of 1s with jitter is drawn no lower than 1s (jitter only shortens, and the floor holds).
      const policy = parsePolicy('rules:\n  - match: "session:*"\n    ttl: 1s\n    jitter: 50%\n');
      const target = await connectTarget(resolveTarget({ url }, {}));
      try {
        await assert.rejects(applyFix(target, { policy, maxTtlMs: 0, journal: join(dir, 'lib.jsonl') }), /--max-ttl: 0s is below the minimum key TTL/);
        await assert.rejects(applyFix(target, { policy, maxTtlMs: 999, journal: join(dir, 'lib2.jsonl') }), /below the minimum key TTL/);
      } finally {
        await target.close();
      }
      assert.equal(await writes(), 0, 'a write reached the server');
      assert.equal(await c.dbsize(), 2_500);
      // The scripts themselves refuse a TTL below 1 s before writing anything.
      const session = (i: number) => Buffer.from(`session:${i}`);
      await assert.rejects(runScript(c, luaScript('fix-expire'), expireArgs('NX', [session(1)], [0], false)), /TTL below 1000 ms refused/);
      await assert.rejects(runScript(c, luaScript('fix-expire'), expireArgs('NX', [session(1), session(2)], [5000, 999], false)), /TTL below 1000 ms refused/);
      assert.equal(await c.pttl('session:1'), -1);
      assert.equal(await c.dbsize(), 2_500);
      // guard() shares the floor.
      assert.throws(() => guard(c, { policy: { rules: [] }, defaultTtl: '500ms' }), /below the minimum key TTL of 1s/);
      // The 1s rule with 50% jitter: every TTL it gives is at least 1 s.
      const journal = join(dir, 'jitter.jsonl');
      const t2 = await connectTarget(resolveTarget({ url }, {}));
      try {
        const report = await applyFix(t2, { policy, journal, random: () => 0.999 });
        assert.equal(report.totals.applied, 2_500);
      } finally {
        await t2.close();
      }
      const exp = readFileSync(journal, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"t":"set"'))
        .flatMap((l) => JSON.parse(l).ttlMs as number[]);
      assert.ok(exp.length === 2_500 && exp.every((t) => t >= 1000), `a TTL below 1 s was sent: ${Math.min(...exp)}`);
    } finally {
      c.disconnect();
    }
  });

  it('2. undo PERSISTs only while the expiry is exactly what fix set: refreshed and re-created keys are left alone', async () => {
    const c = await db(2, 'session:', 300);
    try {
      const journal = join(dir, 'exact.jsonl');
      const url = `${server.url}/2`;
      const fix = await cli(['fix', url, '--match', 'session:*', '--ttl', '24h', '--apply', '--journal', journal, '--json']);
      assert.equal(fix.code, 0, fix.stderr);
      assert.equal(JSON.parse(fix.stdout).totals.applied, 300);
      await new Promise((r) => setTimeout(r, 20));
      // 100 sliding sessions refreshed with the same TTL; 100 deleted and re-created with it.
      for (let i = 0; i < 100; i++) await c.expire(`session:${i}`, DAY_S);
      for (let i = 100; i < 200; i++) {
        await c.del(`session:${i}`);
        await c.set(`session:${i}`, 'new', 'EX', DAY_S);
      }
      const dry = await cli(['undo', url, '--journal', journal, '--dry-run', '--json']);
      assert.equal(JSON.parse(dry.stdout).persisted, 100);
      const undo = await cli(['undo', url, '--journal', journal, '--json']);
      assert.equal(undo.code, 0, undo.stderr);
      const report = JSON.parse(undo.stdout);
      assert.equal(report.persisted, 100);
      assert.equal(report.skipped.longerTtl, 200, 'refreshed and re-created: they expire later than fix set');
      for (let i = 0; i < 200; i++) assert.ok((await c.ttl(`session:${i}`)) > DAY_S - 60, `session:${i} lost the TTL the application gave it`);
      for (let i = 200; i < 300; i++) assert.equal(await c.ttl(`session:${i}`), -1);
      const text = await cli(['undo', url, '--journal', journal]);
      assert.match(text.stdout, /changed since: expires later than fix set/);
      const done = readFileSync(journal, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"t":"done"'))
        .map((l) => JSON.parse(l));
      assert.ok(
        done.every((d) => Array.isArray(d.exp)),
        'every done line records the expiry',
      );
    } finally {
      c.disconnect();
    }
  });

  it('3. undo works wherever fix worked: an ACL user without +@scripting (WATCH/MULTI/EXEC)', async () => {
    const c = await db(3, 'acl:', 500);
    try {
      await admin.call('ACL', 'SETUSER', 'noscript', 'on', '>pw', '~*', '&*', '+@all', '-@scripting');
      const url = `redis://noscript:pw@127.0.0.1:${server.port}/3`;
      const journal = join(dir, 'acl.jsonl');
      const fix = await cli(['fix', url, '--match', 'acl:*', '--ttl', '1h', '--apply', '--journal', journal, '--json']);
      assert.equal(fix.code, 0, fix.stderr);
      await c.expire('acl:1', 7200);
      await admin.config('RESETSTAT');
      const dry = await cli(['undo', url, '--journal', journal, '--dry-run', '--json']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(JSON.parse(dry.stdout).persisted, 499);
      const undo = await cli(['undo', url, '--journal', journal, '--json']);
      assert.equal(undo.code, 0, undo.stderr);
      assert.equal(JSON.parse(undo.stdout).persisted, 499);
      assert.equal(await calls(admin, 'evalsha'), 0);
      assert.ok((await calls(admin, 'exec')) > 0, 'PERSIST went through MULTI/EXEC');
      assert.deepEqual(await ttlCounts(c, 'acl:*'), { withTtl: 1, without: 499 });
    } finally {
      c.disconnect();
    }
  });

  it('3. undo works wherever fix worked: a server with rename-command EVAL ""', async () => {
    const renamed = await startRedis({ args: ['--rename-command', 'EVAL', ''] });
    const c = renamed.client();
    try {
      await assert.rejects(c.call('EVAL', 'return 1', '0'), /unknown command/);
      await fill(c, 'ev:', 400);
      const journal = join(dir, 'noeval.jsonl');
      const fix = await cli(['fix', renamed.url, '--match', 'ev:*', '--ttl', '1h', '--apply', '--journal', journal, '--json']);
      assert.equal(fix.code, 0, fix.stderr);
      assert.equal(JSON.parse(fix.stdout).totals.applied, 400);
      await c.del('ev:1');
      await c.pexpire('ev:2', 5_000_000);
      const undo = await cli(['undo', renamed.url, '--journal', journal, '--json']);
      assert.equal(undo.code, 0, undo.stderr);
      const report = JSON.parse(undo.stdout);
      assert.equal(report.persisted, 398);
      assert.equal(report.skipped.gone, 1);
      assert.equal(report.skipped.longerTtl, 1);
      assert.deepEqual(await ttlCounts(c, 'ev:*'), { withTtl: 1, without: 398 });
    } finally {
      c.disconnect();
      await renamed.stop();
    }
  });

  it('4. a torn journal tail is cut before --resume appends; undo then takes back every key', async () => {
    const c = await db(4, 'torn:', 20_000);
    try {
      const journal = join(dir, 'torn.jsonl');
      const policy = adHocPolicy('torn:*', '1h');
      const stop = new AbortController();
      const t1 = await connectTarget(resolveTarget({ url: `${server.url}/4` }, {}));
      let sent = 0;
      try {
        const first = await applyFix(t1, {
          policy,
          journal,
          maxOps: 20_000,
          signal: stop.signal,
          async beforeWrite(keys) {
            sent += keys.length;
            if (sent > 4_000) stop.abort();
          },
        });
        assert.equal(first.complete, false);
      } finally {
        await t1.close();
      }
      // The process dies mid-write: a torn last line.
      appendFileSync(journal, '{"t":"set","b":"1.999","node":"127.0.0.1:1","db":4,"at":1,"op":"nx","keys":["dG9y');
      const resumed = await cli(['fix', `${server.url}/4`, '--match', 'torn:*', '--ttl', '1h', '--apply', '--journal', journal, '--resume', '--json']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.deepEqual(await ttlCounts(c, 'torn:*'), { withTtl: 20_000, without: 0 });
      const undo = await cli(['undo', `${server.url}/4`, '--journal', journal, '--json']);
      assert.equal(undo.code, 0, undo.stderr);
      const report = JSON.parse(undo.stdout);
      assert.equal(report.persisted, 20_000);
      assert.equal(report.journaled, 20_000);
      assert.deepEqual(await ttlCounts(c, 'torn:*'), { withTtl: 0, without: 20_000 });
    } finally {
      c.disconnect();
    }
  });

  it('4. undo checks the whole journal before its first write; bad journals are refused with one line, exit 2', async () => {
    const c = await db(5, 'bad:', 2_000);
    try {
      const url = `${server.url}/5`;
      const journal = join(dir, 'good.jsonl');
      assert.equal((await cli(['fix', url, '--match', 'bad:*', '--ttl', '1h', '--apply', '--journal', journal])).code, 0);
      const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
      const cases: Record<string, string> = {
        'damaged in the middle': [...lines.slice(0, -2), '{"t":"done","b":', ...lines.slice(-2)].join('\n') + '\n',
        empty: '',
        reformatted: JSON.stringify(
          lines.map((l) => JSON.parse(l)),
          null,
          2,
        ),
        'unknown version': [lines[0].replace('"v":2', '"v":9'), ...lines.slice(1)].join('\n') + '\n',
        'no start line': lines.slice(1).join('\n') + '\n',
        'not a journal': 'rules:\n  - match: "bad:*"\n    ttl: 1h\n',
      };
      await admin.config('RESETSTAT');
      for (const [name, text] of Object.entries(cases)) {
        const file = join(dir, `bad-${name.replace(/ /g, '-')}.jsonl`);
        writeFileSync(file, text);
        const undo = await cli(['undo', url, '--journal', file]);
        assert.equal(undo.code, 2, `${name}: ${undo.stdout}${undo.stderr}`);
        assertOneErrorLine(undo.stderr);
        const resume = await cli(['fix', url, '--match', 'bad:*', '--ttl', '1h', '--apply', '--journal', file, '--resume']);
        assert.equal(resume.code, 2, `${name} (resume): ${resume.stderr}`);
        assert.equal(readFileSync(file, 'utf8'), text, `${name}: --resume modified a file it refused`);
      }
      assert.equal(await calls(admin, 'persist'), 0, 'undo wrote before refusing the journal');
      assert.equal((await calls(admin, 'evalsha')) + (await calls(admin, 'eval')), 0);
      assert.deepEqual(await ttlCounts(c, 'bad:*'), { withTtl: 2_000, without: 0 });
    } finally {
      c.disconnect();
    }
  });

  it('4. localhost and 127.0.0.1 are the same server: resume and undo follow the run_id, not the spelling', async () => {
    const c = await db(6, 'lh:', 3_000);
    try {
      const journal = join(dir, 'localhost.jsonl');
      const stop = new AbortController();
      const t1 = await connectTarget(resolveTarget({ url: `${server.url}/6` }, {}));
      let sent = 0;
      try {
        await applyFix(t1, {
          policy: adHocPolicy('lh:*', '1h'),
          journal,
          maxOps: 5_000,
          signal: stop.signal,
          async beforeWrite(keys) {
            sent += keys.length;
            if (sent > 500) stop.abort();
          },
        });
      } finally {
        await t1.close();
      }
      const local = `redis://localhost:${server.port}/6`;
      const resumed = await cli(['fix', local, '--match', 'lh:*', '--ttl', '1h', '--apply', '--journal', journal, '--resume', '--json']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.ok(JSON.parse(resumed.stdout).totals.keysScanned < 3_000, 'resume via localhost walked everything again');
      assert.deepEqual(await ttlCounts(c, 'lh:*'), { withTtl: 3_000, without: 0 });
      const undo = await cli(['undo', local, '--journal', journal, '--json']);
      assert.equal(undo.code, 0, undo.stderr);
      const report = JSON.parse(undo.stdout);
      assert.equal(report.skipped.unknownNode, 0);
      assert.equal(report.rerouted, 0, 'the same server under another name is no move');
      assert.equal(report.persisted, 3_000);
    } finally {
      c.disconnect();
    }
  });

  it('5. an empty target is an error, never the default; write commands name their target first', async () => {
    const decoy = await startRedis();
    const d = decoy.client();
    try {
      await fill(d, 'session:', 100);
      const env = { REDIS_URL: decoy.url };
      for (const args of [[''], ['--url', ''], ['-h', '']]) {
        const run = await cli(['fix', ...args, '--match', 'session:*', '--ttl', '1h', '--apply'], env);
        assert.equal(run.code, 2, run.stderr);
        assertOneErrorLine(run.stderr);
        const undo = await cli(['undo', ...args, '--journal', join(dir, 'none.jsonl')], env);
        assert.equal(undo.code, 2, undo.stderr);
        assertOneErrorLine(undo.stderr);
      }
      const emptyEnv = await cli(['fix', '--match', 'session:*', '--ttl', '1h', '--apply'], { REDIS_URL: '' });
      assert.match(emptyEnv.stderr, /^keywarden: REDIS_URL is set but empty\n/);
      assert.equal((await calls(d, 'pexpire')) + (await calls(d, 'evalsha')) + (await calls(d, 'eval')), 0);
      assert.deepEqual(await ttlCounts(d, 'session:*'), { withTtl: 0, without: 100 });
      // No target at all: REDIS_URL; and the target is named before the first write.
      const journal = join(dir, 'env.jsonl');
      const run = await cli(['fix', '--match', 'session:*', '--ttl', '1h', '--apply', '--journal', journal], env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, `keywarden: writing TTLs to ${decoy.url} (standalone, 1 node)\n`);
      const undo = await cli(['undo', '--journal', journal], env);
      assert.match(undo.stderr, new RegExp(`^keywarden: undoing TTLs on ${decoy.url} \\(standalone, 1 node\\)`));
    } finally {
      d.disconnect();
      await decoy.stop();
    }
  });

  it('6. policy init cannot be steered by key names: no catch-all, no rule beyond its pattern, examples from its own keys, alerts included', async () => {
    const c = await db(9, 'session:', 2_000);
    try {
      const p = c.pipeline();
      for (let i = 0; i < 60; i++) p.set(`\x1b[0m:${i}`, 'x', 'EX', 300);
      for (let i = 0; i < 500; i++) p.set(`user:${i}:profile`, 'p');
      await p.exec();
      const init = await cli(['policy', 'init', `${server.url}/9`]);
      assert.equal(init.code, 0, init.stderr);
      const policy = parsePolicy(init.stdout, 'init.yml');
      assert.deepEqual(policy.rules.map((r) => r.match).sort(), ['session:*', 'user:*:profile']);
      assert.ok(!init.stdout.includes('\x1b'), 'a raw ESC reached the policy');
      assert.match(init.stdout, /# no rule for "\*:\*" \(60 sampled keys\): a rule without a literal part would govern every key family/);
      // Each rule's comment shows its own keys.
      const lines = init.stdout.split('\n');
      for (const rule of policy.rules) {
        const at = lines.findIndex((l) => l === `  - match: ${JSON.stringify(rule.match)}`);
        const examples = /e\.g\. (.*)$/.exec(lines[at - 1])?.[1].split(', ') ?? [];
        assert.ok(examples.length > 0);
        for (const e of examples) assert.ok(compileGlob(rule.match)(Buffer.from(e)), `${e} shown under ${rule.match}`);
      }
      assert.equal(policy.alerts.noTtlKeys, 1000);
      assert.equal(policy.alerts.memoryUsedRatio, 0.8);
    } finally {
      c.disconnect();
    }
  });

  it('7. error lines say what happened: NOPERM, a full journal disk, a database out of range, a read-only replica; a dry run never says TTLs set', async () => {
    const c = await db(10, 'err:', 300);
    const replica = await startRedis({ config: { replicaof: `127.0.0.1 ${server.port}` } });
    try {
      const url = `${server.url}/10`;
      // A user who may read but not PEXPIRE.
      await admin.call('ACL', 'SETUSER', 'reader', 'on', '>pw', '~*', '&*', '+@all', '-pexpire', '-@scripting');
      const noperm = await cli([
        'fix',
        `redis://reader:pw@127.0.0.1:${server.port}/10`,
        '--match',
        'err:*',
        '--ttl',
        '1h',
        '--apply',
        '--journal',
        join(dir, 'noperm.jsonl'),
      ]);
      assert.equal(noperm.code, 2);
      assert.match(
        noperm.stderr,
        /keywarden: stopped after 0 TTLs set: the user connected to \S+ may not run PEXPIRE\nhint: grant it \(ACL SETUSER <user> \+pexpire\)/,
      );
      assert.doesNotMatch(noperm.stderr, /once the server answers again/);
      // A full disk: /dev/full fails every write with ENOSPC.
      const device = await cli(['fix', url, '--match', 'err:*', '--ttl', '1h', '--apply', '--journal', '/dev/full', '--resume']);
      assert.equal(device.code, 2);
      assert.match(device.stderr, /^keywarden: \/dev\/full is not a usable fix journal: it is not a regular file; nothing was written\n/);
      const { JournalWriter } = await import('../../src/fix/journal.js');
      const w = new JournalWriter('/dev/full', 1);
      assert.throws(
        () => w.write({ t: 'cp', cp: { node: 'a:1', db: 0, cursor: '0', done: false } }),
        /the disk holding journal \/dev\/full is full \(ENOSPC\)/,
      );
      w.close();
      // A database that does not exist.
      const range = await cli(['fix', `${server.url}/99`, '--match', 'err:*', '--ttl', '1h']);
      assert.equal(range.code, 2);
      // Checked when connecting, for every command: the line names the database, no TTL count.
      assert.match(range.stderr, /^keywarden: database 99 does not exist on redis:\/\/127\.0\.0\.1:\d+\/99\nhint: pick a database the server has/);
      const rangeApply = await cli(['fix', `${server.url}/99`, '--match', 'err:*', '--ttl', '1h', '--apply', '--journal', join(dir, 'range.jsonl')]);
      assert.equal(rangeApply.code, 2);
      assert.match(rangeApply.stderr, /database 99 does not exist/);
      assert.doesNotMatch(rangeApply.stderr, /TTLs set|--resume/);
      // A read-only replica.
      const ro = await cli(['fix', replica.url, '--match', 'err:*', '--ttl', '1h', '--apply', '--journal', join(dir, 'ro.jsonl')]);
      assert.equal(ro.code, 2);
      assert.match(ro.stderr, /is a read-only replica: TTLs can only be written on the primary\nhint: point the command at the primary/);
      assert.equal((await ttlCounts(c, 'err:*')).withTtl, 0);
    } finally {
      c.disconnect();
      await replica.stop();
    }
  });

  it('8. fix --apply warns when a volatile-* server near maxmemory would make the keys it fixes evictable; doctor has the finding', async () => {
    const tight = await startRedis({ config: { maxmemory: '4mb', 'maxmemory-policy': 'volatile-lru' } });
    const c = tight.client();
    try {
      const used = Number(/used_memory:(\d+)/.exec(await c.info('memory'))?.[1]);
      const p = c.pipeline();
      for (let i = 0; i < 2_000; i++) p.set(`session:${i}`, 'v'.repeat(100));
      await p.exec();
      const now = Number(/used_memory:(\d+)/.exec(await c.info('memory'))?.[1]);
      await c.config('SET', 'maxmemory', String(Math.round(now / 0.85)));
      assert.ok(now > used);
      const report = await doctor({ url: tight.url });
      const f = report.findings.find((x) => x.id === 'fix-makes-keys-evictable');
      assert.ok(f, JSON.stringify(report.findings.map((x) => x.id)));
      assert.equal(f.severity, 'warning');
      const fix = await cli(['fix', tight.url, '--match', 'session:*', '--ttl', '24h', '--apply', '--journal', join(dir, 'evictable.jsonl')]);
      assert.equal(fix.code, 0, fix.stderr);
      assert.match(fix.stderr, /keywarden: warning: 127\.0\.0\.1:\d+ uses volatile-lru at \d+% of maxmemory: every key given a TTL can be evicted at once/);
      const plan = await cli(['fix', tight.url, '--match', 'session:*', '--ttl', '24h', '--json']);
      assert.equal(JSON.parse(plan.stdout).evictionRisk[0].policy, 'volatile-lru');
      // Not near the limit: no warning, no finding.
      await c.config('SET', 'maxmemory', '0');
      const calm = await doctor({ url: tight.url });
      assert.ok(!calm.findings.some((x) => x.id === 'fix-makes-keys-evictable'));
    } finally {
      c.disconnect();
      await tight.stop();
    }
  });

  it('9. two fix runs at once on the same keys: each key gets one TTL, the counts add up, undo of one leaves the other', async () => {
    const c = await db(7, 'twice:', 10_000);
    try {
      const url = `${server.url}/7`;
      const [a, b] = await Promise.all(
        ['a', 'b'].map((n) =>
          cli(['fix', url, '--match', 'twice:*', '--ttl', n === 'a' ? '1h' : '2h', '--apply', '--journal', join(dir, `twice-${n}.jsonl`), '--json']),
        ),
      );
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      const ra = JSON.parse(a.stdout).totals;
      const rb = JSON.parse(b.stdout).totals;
      assert.equal(ra.applied + rb.applied, 10_000);
      assert.equal(ra.alreadyHadTtl + rb.alreadyHadTtl, 10_000);
      // Undo of run a takes back exactly its keys; run b's keep their TTL.
      const undo = await cli(['undo', url, '--journal', join(dir, 'twice-a.jsonl'), '--json']);
      assert.equal(JSON.parse(undo.stdout).persisted, ra.applied);
      assert.deepEqual(await ttlCounts(c, 'twice:*'), { withTtl: rb.applied, without: ra.applied });
    } finally {
      c.disconnect();
    }
  });

  it('9. fix while the application writes and sets TTLs: no TTL of the application is overwritten or removed', async () => {
    const c = await db(8, 'live:', 10_000);
    const app = new Redis({ port: server.port, db: 8 });
    let running = true;
    const own = new Set<string>();
    const writer = (async () => {
      for (let i = 0; running; i++) {
        const k = `live:${i % 10_000}`;
        await app.pexpire(k, 3 * 3_600_000);
        own.add(k);
        await app.set(`live:new:${i}`, 'v', 'EX', 5 * 3600);
      }
    })();
    try {
      const url = `${server.url}/8`;
      const journal = join(dir, 'live.jsonl');
      const fix = await cli(['fix', url, '--match', 'live:*', '--ttl', '1h', '--apply', '--journal', journal, '--json']);
      assert.equal(fix.code, 0, fix.stderr);
      running = false;
      await writer;
      for (const k of own) assert.ok((await c.pttl(k)) > 2 * 3_600_000, `${k}: the application's 3h TTL was overwritten`);
      const undo = await cli(['undo', url, '--journal', journal, '--json']);
      assert.equal(undo.code, 0, undo.stderr);
      for (const k of own) assert.ok((await c.pttl(k)) > 2 * 3_600_000, `${k}: undo removed the application's TTL`);
      assert.equal((await ttlCounts(c, 'live:new:*')).without, 0);
    } finally {
      running = false;
      await writer.catch(() => undefined);
      app.disconnect();
      c.disconnect();
    }
  });
});

describe('a bare --ttl number on a terminal (issue #13, case 1)', () => {
  it('asks before writing TTLs of that many seconds: no writes on "n", the TTL on "y" (a pty from script(1))', async () => {
    const { spawnSync } = await import('node:child_process');
    assert.equal(spawnSync('script', ['--version']).status, 0, 'script(1) (util-linux) is needed to give the CLI a terminal');
    const server = await startRedis();
    const c = server.client();
    const dir = mkdtempSync(join(tmpdir(), 'keywarden-tty-'));
    try {
      await c.set('tty:1', 'v');
      const run = (answer: string, journal: string) =>
        spawnSync(
          'script',
          ['-qec', `node --import tsx src/cli/run.ts fix ${server.url} --match 'tty:*' --ttl 24 --apply --journal ${join(dir, journal)}`, '/dev/null'],
          {
            input: `${answer}\n`,
            encoding: 'utf8',
            timeout: 60_000,
          },
        );
      const no = run('n', 'no.jsonl');
      assert.match(no.stdout, /--ttl 24 is 24 seconds \(not 24h\)\. Write TTLs of 24 seconds\? \[y\/N\]/);
      assert.match(no.stdout, /keywarden: --ttl 24 has no unit/);
      assert.equal(await c.ttl('tty:1'), -1);
      const yes = run('y', 'yes.jsonl');
      assert.match(yes.stdout, /1 TTLs set/, yes.stdout);
      const ttl = await c.ttl('tty:1');
      assert.ok(ttl > 0 && ttl <= 24, `ttl ${ttl}`);
    } finally {
      c.disconnect();
      await server.stop();
    }
  });
});
