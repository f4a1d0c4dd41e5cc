/**
 * The states an incident leaves a server in, where it answers but refuses the commands a run
 * needs: loading its dataset after a restart, blocked by a runaway script, a replica cut from
 * its primary, writes stopped by a failed snapshot. Each run must end with one line that says
 * what the server is doing and what to do about it (exit 2), never a stack trace.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneErrorLine, runCli } from '../support/cli.js';
import { startPrimaryWithReplica, startRedis } from '../support/redis.js';

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a server that answers but refuses', () => {
  it('loading its dataset (just restarted): scan says so and when to come back', { timeout: 60_000 }, async () => {
    // Events every 1 KB of the RDB, 200 µs per key: 20,000 keys load for about 4 s, and
    // meanwhile every client is told LOADING, as after a real restart of a big instance.
    const server = await startRedis({ config: { 'key-load-delay': 200, 'loading-process-events-interval-bytes': 1024 } });
    const admin = server.client();
    const reloader = server.client();
    try {
      await admin.call('DEBUG', 'POPULATE', 20_000, 'session', 10);
      const reload = reloader.call('DEBUG', 'RELOAD').catch(() => undefined);
      await waitUntil('loading', async () => /loading:1/.test(await admin.info('persistence').catch(() => 'loading:1')));
      const r = await runCli(['scan', server.url]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        `keywarden: redis://127.0.0.1:${server.port} is still loading its dataset into memory (it has just started)\n` +
          'hint: run the command again once loading is done: redis-cli INFO persistence shows loading_eta_seconds\n',
      );
      await reload;
      const after = await runCli(['scan', server.url, '--json']);
      assert.equal(after.code, 0, after.stderr);
      assert.equal(JSON.parse(after.stdout).totals.keys, 20_000);
    } finally {
      admin.disconnect();
      reloader.disconnect();
      await server.stop();
    }
  });

  it('busy with a runaway script: scan names the node and says SCRIPT KILL', { timeout: 60_000 }, async () => {
    const server = await startRedis({ config: { 'busy-reply-threshold': 100 } });
    const seeder = server.client();
    const runaway = server.client();
    try {
      await seeder.call('DEBUG', 'POPULATE', 5000, 'cache', 10);
      const running = runaway.eval('while true do end', 0).catch((err: Error) => err);
      await waitUntil('the script to be BUSY', () =>
        seeder.ping().then(
          () => false,
          (err: Error) => /BUSY/.test(err.message),
        ),
      );
      const r = await runCli(['scan', server.url]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^keywarden: (127\\.0\\.0\\.1:${server.port}|redis://127\\.0\\.0\\.1:${server.port}) is busy running a script or function and answers nothing else until it ends\\nhint: SCRIPT KILL`,
        ),
      );
      assertOneErrorLine(r.stderr);
      await seeder.call('SCRIPT', 'KILL');
      assert.match(String(await running), /killed/i);
      assert.equal((await runCli(['scan', server.url])).code, 0);
    } finally {
      seeder.disconnect();
      runaway.disconnect();
      await server.stop();
    }
  });

  it('a replica that lost its primary and serves no stale data: scan says to read the primary', { timeout: 60_000 }, async () => {
    const pair = await startPrimaryWithReplica({ config: { 'replica-serve-stale-data': 'no' } });
    const primary = pair.primary.client();
    await primary.call('DEBUG', 'POPULATE', 1000, 'session', 10);
    primary.disconnect();
    const replica = pair.replica.client();
    try {
      await waitUntil('the replica to sync', async () => /master_link_status:up/.test(await replica.info('replication')));
      await pair.primary.stop();
      await waitUntil('the link to drop', async () => /master_link_status:down/.test(await replica.info('replication')));
      const r = await runCli(['scan', pair.replica.url]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is a replica that lost its primary and does not serve stale data\nhint: read the primary instead/);
      assertOneErrorLine(r.stderr);
    } finally {
      replica.disconnect();
      await pair.stop();
    }
  });

  it('writes stopped by a failed snapshot: fix --apply says why and what to fix before running it again', { timeout: 60_000 }, async () => {
    // MISCONF needs save points (and protected configs, to move `dir` at run time).
    const server = await startRedis({ config: { save: '3600 1', 'enable-protected-configs': 'yes' } });
    const c = server.client();
    const gone = mkdtempSync(join(tmpdir(), 'keywarden-misconf-'));
    const journalDir = mkdtempSync(join(tmpdir(), 'keywarden-misconf-journal-'));
    try {
      await c.call('DEBUG', 'POPULATE', 2000, 'session', 10);
      // The snapshot directory disappears (a full or unmounted disk), and the next save fails.
      await c.config('SET', 'dir', gone);
      rmSync(gone, { recursive: true, force: true });
      await c.bgsave();
      await waitUntil('the failed save', async () => /rdb_last_bgsave_status:err/.test(await c.info('persistence')));
      const journal = join(journalDir, 'fix.jsonl');
      const r = await runCli(['fix', server.url, '--match', 'session:*', '--ttl', '1h', '--apply', '--journal', journal]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        `keywarden: redis://127.0.0.1:${server.port} refuses writes: its last RDB snapshot failed (stop-writes-on-bgsave-error)\n` +
          'hint: fix what broke the save (disk space, permissions: INFO persistence and the server log), then run the command again\n',
      );
      assert.equal(await c.call('EXPIRETIME', 'session:0'), -1, 'nothing was written');
      // Once the save works again, the same command does the job.
      await c.config('SET', 'dir', server.dir);
      await c.bgsave();
      await waitUntil('a good save', async () =>
        /rdb_bgsave_in_progress:0\r?\nrdb_last_save_time:\d+\r?\nrdb_last_bgsave_status:ok/.test(await c.info('persistence')),
      );
      const again = await runCli(['fix', server.url, '--match', 'session:*', '--ttl', '1h', '--apply', '--journal', journal]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(JSON.parse((await runCli(['scan', server.url, '--json'])).stdout).totals.noTtlKeys, 0);
    } finally {
      c.disconnect();
      await server.stop();
      rmSync(journalDir, { recursive: true, force: true });
    }
  });
});
