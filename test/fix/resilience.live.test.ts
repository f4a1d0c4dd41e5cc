/**
 * fix under failure: kill -9 of the CLI mid-run then --resume (few repeated EXPIREs), and a
 * server restart mid-run (one clear error, then --resume finishes). One server with AOF
 * (fsync always), so a restart keeps the data, as a production restart would.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { applyFix, FixInterruptedError } from '../../src/fix/index.js';
import { adHocPolicy } from '../../src/policy/index.js';
import { connectTarget } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { calls, cli, fill, ttlCounts } from './support.js';

const KEYS = 30_000;

describe('fix survives kill -9 and server restarts', () => {
  let server: RedisServer;
  let client: Redis;
  let dir: string;

  before(async () => {
    server = await startRedis({ config: { appendonly: 'yes', appendfsync: 'always' } });
    client = server.client();
    dir = mkdtempSync(join(tmpdir(), 'keywarden-fix-resume-'));
  });
  after(async () => {
    client.disconnect();
    await server.stop();
  });

  it('kill -9 mid-run, then --resume finishes with at most a few percent repeated EXPIREs', async () => {
    await client.flushall();
    await fill(client, 'session:', KEYS);
    await client.config('RESETSTAT');
    const journal = join(dir, 'kill.jsonl');
    const args = ['fix', server.url, '--match', 'session:*', '--ttl', '24h', '--apply', '--journal', journal, '--max-ops', '10000'];
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fix/run-cli.ts', ...args], { stdio: 'ignore' });
    // Kill once a good part, but not all, of the keys have a TTL.
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const expires = Number(/expires=(\d+)/.exec(await client.info('keyspace'))?.[1] ?? 0);
      if (expires >= KEYS * 0.3) break;
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = await ttlCounts(client, 'session:*');
    assert.ok(before.without > 0, 'the run finished before the kill: nothing left to resume');

    const resumed = await cli([...args.filter((a) => a !== '--max-ops' && a !== '10000'), '--resume', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const report = JSON.parse(resumed.stdout);
    assert.equal(report.resumed, true);
    assert.equal(report.complete, true);
    assert.ok(report.totals.keysScanned < KEYS, `resume rescanned everything (${report.totals.keysScanned} keys)`);
    assert.deepEqual(await ttlCounts(client, 'session:*'), { withTtl: KEYS, without: 0 });
    const sent = await calls(client, 'pexpire');
    assert.ok(sent >= KEYS, `${sent} PEXPIRE for ${KEYS} keys`);
    assert.ok(sent <= KEYS * 1.03, `${sent - KEYS} repeated PEXPIRE (${(((sent - KEYS) / KEYS) * 100).toFixed(1)}%) after kill -9 and resume`);
    const lines = readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { t: string });
    assert.equal(lines.filter((l) => l.t === 'start').length, 2);

    // Undo's counts are exact: every key is either taken back or reported, never both, never
    // neither; a key whose write was in flight at the kill keeps its TTL and is listed as such.
    const undo = await cli(['undo', server.url, '--journal', journal, '--json']);
    assert.equal(undo.code, 0, undo.stderr);
    const u = JSON.parse(undo.stdout);
    const skipped = Object.values(u.skipped as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.equal(u.journaled, u.persisted + skipped);
    assert.equal(u.persisted + u.skipped.unconfirmed, KEYS, JSON.stringify(u.skipped));
    assert.deepEqual(await ttlCounts(client, 'session:*'), { withTtl: u.skipped.unconfirmed, without: u.persisted });
  });

  it('a server restart mid-run is one clear error; --resume then finishes', async () => {
    await client.flushall();
    await fill(client, 'cache:', KEYS);
    const journal = join(dir, 'restart.jsonl');
    const policy = adHocPolicy('cache:*', '1h');
    const target = await connectTarget(resolveTarget({ url: server.url }, {}));
    let restarted: Promise<void> | undefined;
    try {
      const err = await applyFix(target, {
        policy,
        journal,
        maxOps: 10_000,
        async beforeWrite() {
          restarted ??= new Promise((r) => setTimeout(r, 300)).then(() => server.restart());
        },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof FixInterruptedError, `expected FixInterruptedError, got ${String(err)}`);
      assert.doesNotMatch(err.message, /\n/);
      assert.match(err.message, /^stopped after \d+ TTLs set: /);
      assert.match(err.hint, /--resume --journal/);
    } finally {
      await restarted;
      await target.close().catch(() => undefined);
    }
    const c = server.client();
    try {
      const left = await ttlCounts(c, 'cache:*');
      assert.equal(left.withTtl + left.without, KEYS, 'the restart lost data');
      assert.ok(left.without > 0);
      const again = await connectTarget(resolveTarget({ url: server.url }, {}));
      try {
        const report = await applyFix(again, { policy, journal, resume: true });
        assert.equal(report.complete, true);
      } finally {
        await again.close();
      }
      assert.deepEqual(await ttlCounts(c, 'cache:*'), { withTtl: KEYS, without: 0 });
    } finally {
      c.disconnect();
    }
  });

  it('CLI: the restart is one line and exit 2, and the printed resume command finishes the job', async () => {
    await client.flushall();
    await fill(client, 'token:', KEYS);
    const journal = join(dir, 'cli-restart.jsonl');
    const args = ['fix', server.url, '--match', 'token:*', '--ttl', '30m', '--apply', '--journal', journal];
    const run = cli([...args, '--max-ops', '8000']);
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      if (Number(/expires=(\d+)/.exec(await client.info('keyspace'))?.[1] ?? 0) > 2000) break;
    }
    await server.restart();
    const failed = await run;
    assert.equal(failed.code, 2);
    assert.match(
      failed.stderr,
      /^keywarden: writing TTLs to [^\n]+\nkeywarden: stopped after \d+ TTLs set: [^\n]+\nhint: [^\n]*rerun the same command with --resume --journal [^\n]+\n$/,
    );
    const resumed = await cli([...args, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /restarted since the checkpoint/);
    assert.deepEqual(await ttlCounts(client, 'token:*'), { withTtl: KEYS, without: 0 });
  });
});
