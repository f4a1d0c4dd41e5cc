/**
 * Restarts: the daemon's own (stop + start, and SIGTERM through the CLI) continues the pass
 * from the checkpoint without losing or double-counting keys; a Redis restart mid-pass is
 * noticed (new run_id), reported, and that node is rescanned from the start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PersistedState } from '../../src/watch/state.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { get, seed, series, waitFor, watch } from './support.js';

const patternKeys = (state: PersistedState) =>
  Object.fromEntries(Object.values(state.published?.nodes ?? {}).flatMap((list) => list.map((f) => [f.pattern, f.keys])));

describe('watch checkpoints and restarts', () => {
  let dir: string;
  let server: RedisServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keywarden-watch-'));
    server = await startRedis();
    const c = server.client();
    await seed(c, 'order', 9000);
    await seed(c, 'cache', 6000, { ttl: 3600 });
    c.disconnect();
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a restarted daemon continues the pass where it stopped and counts every key once', async () => {
    const statePath = join(dir, 'resume.json');
    const first = await watch(server.url, { statePath, maxOps: 4000 });
    await waitFor('a third of the pass', () => first.view.live.passKeysSeen > 5000);
    await first.stop();
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as PersistedState;
    assert.equal(saved.passes, 0);
    const node = saved.pass?.nodes[`127.0.0.1:${server.port}`];
    assert.ok(node?.checkpoint, 'the checkpoint names a cursor');
    assert.notEqual(node.checkpoint.cursor, '0');
    assert.ok(node.keysSeen >= 5000 && node.keysSeen < 15_000, `keys before the stop: ${node.keysSeen}`);
    assert.equal(
      node.figures.reduce((s, f) => s + f.keys, 0),
      node.keysSeen,
      'figures saved with the cursor cover exactly the keys before it',
    );

    const second = await watch(server.url, { statePath, maxOps: 4000 });
    try {
      const t0 = Date.now();
      await second.nextPass();
      const resumed = second.logs
        .map((l) => JSON.parse(l) as { msg: string; keysSeen?: number })
        .find((l) => l.msg === 'resuming the pass from the checkpoint');
      assert.equal(resumed?.keysSeen, node.keysSeen);
      // The rest of the pass only: well under the ~4 s a whole pass takes at 4000 keys/s.
      assert.ok(Date.now() - t0 < 3500, `resumed pass took ${Date.now() - t0} ms`);
      assert.deepEqual(patternKeys(second.view.state), { 'order:*': 9000, 'cache:*': 6000 });
      const metrics = (await get(`${second.url}/metrics`)).body;
      assert.equal(series(metrics, 'keywarden_scan_passes_total')[0].value, 1);
    } finally {
      await second.stop();
    }
  });

  it('a Redis restart mid-pass is logged and counted, and the node is rescanned from the start', async () => {
    const own = await startRedis();
    const c = own.client();
    await seed(c, 'item', 8000);
    await c.call('SAVE'); // the restarted server loads this dump: same data, new run_id
    c.disconnect();
    const w = await watch(own.url, { maxOps: 4000, reconnect: { minMs: 100, maxMs: 500 }, statePath: join(dir, 'redis-restart.json') });
    try {
      await waitFor('a part of the pass', () => w.view.live.passKeysSeen > 2000);
      await own.restart();
      await waitFor('the reconnection', () => w.view.live.reconnects === 1 && w.view.live.connected);
      await w.nextPass();
      const logs = w.logs.map((l) => JSON.parse(l) as { msg: string; level: string });
      const msgs = logs.map((l) => l.msg);
      assert.ok(msgs.includes('lost the connection to the target; reconnecting'), msgs.join('\n'));
      assert.ok(msgs.includes('reconnected to the target'));
      assert.ok(msgs.includes('server restarted during the pass; rescanning this node from the start'));
      assert.deepEqual(patternKeys(w.view.state), { 'item:*': 8000 });
      const metrics = (await get(`${w.url}/metrics`)).body;
      assert.equal(series(metrics, 'keywarden_reconnects_total')[0].value, 1);
      assert.equal(series(metrics, 'keywarden_up')[0].value, 1);
    } finally {
      await w.stop();
      await own.stop();
    }
  });

  it('SIGTERM stops the CLI cleanly: checkpoint saved, JSON logs on stderr, nothing on stdout, exit 0; it ran at nice 10', async () => {
    const statePath = join(dir, 'cli.json');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'cli-entry.ts'),
        'watch',
        server.url,
        '--listen',
        '127.0.0.1:0',
        '--state',
        statePath,
        '--max-ops',
        '3000',
        '--checkpoint-interval',
        '200ms',
        '--no-doctor',
        '--log-format',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const listening = await waitFor('the listening log line', () => /"msg":"listening","url":"(http:[^"]+)"/.exec(stderr)?.[1], 20_000);
      // A daemon without --fast works at nice 10 (field 19 of /proc/<pid>/stat).
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]), Math.max(10, getPriority()), 'watch runs at nice 10');
      await waitFor('progress', async () => series((await get(`${listening}/metrics`)).body, 'keywarden_scan_keys')[0]?.value > 2000, 20_000);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(stdout, '');
    const lines = stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; level: string; time: string });
    assert.deepEqual(
      lines.slice(-3).map((l) => l.msg),
      ['signal received', 'stopping: saving the checkpoint', 'stopped'],
    );
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as PersistedState;
    assert.ok(saved.pass?.nodes[`127.0.0.1:${server.port}`]?.checkpoint, 'checkpoint written on SIGTERM');
  });
});
