/**
 * A server that goes away mid-run: stopped (SIGSTOP, a paused VM, a network cut: the socket
 * stays open and simply goes quiet) or killed. Every command must stop within the reply
 * timeout with one line naming the node, exit 2, no stack trace, and lose nothing: fix's
 * journal resumes where it stopped, undo can be run again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { ScanFailedError, connectTarget, resolveTarget, scanKeyspace, type ScanReport } from '../../src/index.js';
import { assertOneErrorLine, runCli } from '../support/cli.js';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';

const KEYS = 200_000;

describe('a server that stops answering or dies mid-run', () => {
  let server: RedisServer;
  let dir: string;
  before(async () => {
    server = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'keywarden-lost-'));
    const c = server.client();
    await c.call('DEBUG', 'POPULATE', KEYS, 'session', 40);
    c.disconnect();
  });
  after(async () => {
    server.process.kill('SIGCONT');
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run the CLI; `during` is called once the run has had time to start its work. */
  async function runWhile(args: string[], during: () => void | Promise<void>, afterMs = 700) {
    const started = performance.now();
    const timer = setTimeout(() => void during(), afterMs);
    try {
      const result = await runCli(args);
      return { ...result, seconds: (performance.now() - started) / 1000 };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Run the CLI and SIGSTOP the server `afterMs` into it: the socket stays open and goes quiet. */
  async function runStalled(args: string[], afterMs = 700) {
    try {
      return await runWhile(args, () => void server.process.kill('SIGSTOP'), afterMs);
    } finally {
      server.process.kill('SIGCONT');
    }
  }

  it('scan: a stopped server ends the run after --reply-timeout, naming the node (exit 2)', { timeout: 30_000 }, async () => {
    const r = await runStalled(['scan', server.url, '--max-ops', '50000', '--reply-timeout', '1s']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^keywarden: 127\\.0\\.0\\.1:${server.port} stopped answering: no reply within 1s\\nhint: .*--reply-timeout`));
    assertOneErrorLine(r.stderr);
    // What was read is not thrown away: the report of it, marked incomplete with the reason.
    const seen = Number(
      new RegExp(`INCOMPLETE: 127\\.0\\.0\\.1:${server.port} stopped answering: no reply within 1s after ([\\d,]+) of 200,000 keys`)
        .exec(r.stdout)?.[1]
        .replace(/,/g, ''),
    );
    assert.ok(seen > 0 && seen < KEYS, r.stdout);
    assert.match(r.stdout, /session:\*/);
    // 0.7 s of work, 1 s without a reply, at most 1 s of polite QUIT: nothing waits for the full default 30 s.
    assert.ok(r.seconds < 6, `took ${r.seconds.toFixed(1)} s`);
  });

  it('scan --json: the same failure is one keywarden.error document', { timeout: 30_000 }, async () => {
    const r = await runStalled(['scan', server.url, '--json', '--max-ops', '50000', '--reply-timeout', '1s']);
    assert.equal(r.code, 2);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.kind, 'keywarden.error');
    assert.match(doc.message, /stopped answering/);
    assert.match(doc.hint, /--reply-timeout/);
    // The keys read before it stopped, as the scan document scripts already parse.
    const partial = doc.partial;
    assert.equal(partial.kind, 'keywarden.scan');
    assert.equal(partial.coverage.complete, false);
    assert.equal(partial.coverage.interrupted, doc.message);
    assert.ok(partial.coverage.keysSeen > 0 && partial.coverage.keysSeen < KEYS);
    assert.equal(partial.totals.keys, partial.coverage.keysSeen);
    assert.equal(
      partial.patterns.reduce((sum: number, p: { keys: number }) => sum + p.keys, 0),
      partial.totals.keys,
    );
  });

  it('library: scanKeyspace throws ScanFailedError, whose partial is the report of what was read', { timeout: 30_000 }, async () => {
    const target = await connectTarget(resolveTarget({ url: server.url, replyTimeoutMs: 1000 }, {}));
    const timer = setTimeout(() => server.process.kill('SIGSTOP'), 700);
    try {
      const err = await scanKeyspace(target, { maxOps: 50_000 }).then(
        () => assert.fail('the scan should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ScanFailedError, String(err));
      assert.equal(err.message, `127.0.0.1:${server.port} stopped answering: no reply within 1s`);
      const partial = err.partial as ScanReport;
      assert.equal(partial.coverage.complete, false);
      assert.equal(partial.coverage.interrupted, err.message);
      assert.ok(partial.totals.keys > 0 && partial.totals.keys < KEYS);
    } finally {
      clearTimeout(timer);
      server.process.kill('SIGCONT');
      await target.close();
    }
  });

  it('scan: a server killed mid-scan is a lost connection (exit 2), not a crash', { timeout: 30_000 }, async () => {
    let restarted: Promise<void> | undefined;
    const r = await runWhile(['scan', server.url, '--max-ops', '50000'], () => void (restarted = server.restart()));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^keywarden: lost the connection to 127\\.0\\.0\\.1:${server.port} mid-run\\n`));
    assertOneErrorLine(r.stderr);
    assert.match(r.stdout, /INCOMPLETE: lost the connection to .* after [\d,]+ of 200,000 keys/);
    // The restarted server is empty (nothing persisted): load the keys again for the next tests.
    await restarted;
    const c = server.client();
    await c.call('DEBUG', 'POPULATE', KEYS, 'session', 40);
    c.disconnect();
  });

  it('fix --apply: a stopped server ends the run with the resume command; --resume then finishes the job', { timeout: 30_000 }, async () => {
    const journal = join(dir, 'fix.jsonl');
    const fix = ['fix', server.url, '--match', 'session:*', '--ttl', '1h', '--apply', '--journal', journal, '--max-ops', '40000'];
    const r = announced(await runStalled([...fix, '--reply-timeout', '1s'], 1200));
    assert.equal(r.code, 2, r.stderr);
    const applied = Number(/^keywarden: stopped after (\d+) TTLs set: redis:\/\/127\.0\.0\.1:\d+ stopped answering: no reply within 1s\n/.exec(r.stderr)?.[1]);
    assert.ok(applied > 0 && applied < KEYS, r.stderr);
    assert.ok(r.stderr.includes(`--resume --journal ${journal}`), r.stderr);
    assertOneErrorLine(r.stderr);

    const resumed = await runCli([...fix, '--resume', '--fast', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const left = await runCli(['scan', server.url, '--json']);
    const session = JSON.parse(left.stdout).patterns.find((p: { pattern: string }) => p.pattern === 'session:*');
    assert.equal(session.keys, KEYS);
    assert.equal(session.noTtlKeys, 0, 'every key got its TTL across the two runs');
  });

  it('fix --apply without scripts (SCAN and pipelined writes): the same count and resume command', { timeout: 30_000 }, async () => {
    // An ACL user without EVAL takes the other write path, whose keys come from the scanner.
    const admin = server.client();
    await admin.call('ACL', 'SETUSER', 'noscripts', 'on', '>pw', '~*', '&*', '+@all', '-@scripting');
    await admin.call('DEBUG', 'POPULATE', 100_000, 'plain', 40);
    admin.disconnect();
    const url = `redis://noscripts:pw@127.0.0.1:${server.port}`;
    const journal = join(dir, 'noscripts.jsonl');
    const fix = ['fix', url, '--match', 'plain:*', '--ttl', '1h', '--apply', '--journal', journal, '--max-ops', '40000'];
    const r = announced(await runStalled([...fix, '--reply-timeout', '1s'], 1000));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^keywarden: stopped after \d+ TTLs set: 127\.0\.0\.1:\d+ stopped answering: no reply within 1s\n/);
    assert.ok(r.stderr.includes(`--resume --journal ${journal}`), r.stderr);
    assertOneErrorLine(r.stderr);
    const resumed = await runCli([...fix, '--resume', '--fast']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const plain = JSON.parse((await runCli(['scan', server.url, '--json', '--match', 'plain:*'])).stdout).patterns[0];
    assert.equal(plain.noTtlKeys, 0);
  });

  it('undo: a stopped server ends the run with a way to continue; running it again completes it', { timeout: 30_000 }, async () => {
    const journal = join(dir, 'fix.jsonl');
    const r = announced(await runStalled(['undo', server.url, '--journal', journal, '--max-ops', '40000', '--reply-timeout', '1s'], 1200));
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^keywarden: undo stopped after \d+ PERSIST: redis:\/\/127\.0\.0\.1:\d+ stopped answering: no reply within 1s\nhint: once the server answers again, rerun the same undo/,
    );
    assertOneErrorLine(r.stderr);
    const again = await runCli(['undo', server.url, '--journal', journal, '--fast', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const left = JSON.parse((await runCli(['scan', server.url, '--json'])).stdout);
    // Keys whose write was in flight when the fix run stopped cannot be told from the
    // application's TTLs: undo lists them as unconfirmed and leaves them; every other TTL is gone.
    const unconfirmed = JSON.parse(again.stdout).skipped.unconfirmed as number;
    assert.equal(left.totals.noTtlKeys + unconfirmed, KEYS, 'every TTL the fix set is gone again');
  });

  it('--reply-timeout takes a positive duration', async () => {
    const r = await runCli(['scan', server.url, '--reply-timeout', 'soon']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "keywarden: --reply-timeout: 'soon' is not a positive duration\nhint: write e.g. --reply-timeout 2m (500ms, 90s, 30m, 24h, 7d or seconds)\n",
    );
  });
});

async function ownsSlot(c: Redis, key: string): Promise<boolean> {
  const slot = Number(await c.call('CLUSTER', 'KEYSLOT', key));
  const myself = String(await c.call('CLUSTER', 'MYID'));
  const shards = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
  return shards.some(([from, to, master]) => slot >= from && slot <= to && master[2] === myself);
}

describe('a cluster master that stops answering mid-scan', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startCluster();
    // 100,000 keys on each master, under a hash tag of a slot it serves, written to it directly.
    for (const [i, m] of cluster.masters.entries()) {
      const c = m.client();
      let tag = 0;
      while ((await c.cluster('COUNTKEYSINSLOT', Number(await c.call('CLUSTER', 'KEYSLOT', `{t${tag}}`)))) !== 0 || !(await ownsSlot(c, `{t${tag}}`))) tag++;
      for (let from = 0; from < 100_000; from += 10_000) {
        const p = c.pipeline();
        for (let k = from; k < from + 10_000; k++) p.set(`{t${tag}}:node${i}:${k}`, 'v');
        await p.exec();
      }
      // And a few keys of slots it does not serve (DEBUG POPULATE ignores slots), as a
      // resharding leaves them: scripts may not read them, and the scan must not stop on them.
      await c.call('DEBUG', 'POPULATE', 50, `stray${i}`, 10);
      c.disconnect();
    }
  });
  after(async () => {
    for (const m of cluster.masters) m.process.kill('SIGCONT');
    await cluster.stop();
  });

  it('keys of slots a master does not serve are counted as not there, not a failure', { timeout: 30_000 }, async () => {
    const r = await runCli(['scan', cluster.url, '--json', '--fast']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.ok(report.coverage.vanished > 50, `vanished ${report.coverage.vanished}`);
    assert.equal(report.totals.keys + report.coverage.vanished, 300_150);
  });

  it('names the master, stops the others, and keeps what every master had read', { timeout: 30_000 }, async () => {
    const victim = cluster.masters[1];
    const timer = setTimeout(() => victim.process.kill('SIGSTOP'), 700);
    let r;
    try {
      r = await runCli(['scan', cluster.url, '--json', '--max-ops', '40000', '--reply-timeout', '1s']);
    } finally {
      clearTimeout(timer);
      victim.process.kill('SIGCONT');
    }
    assert.equal(r.code, 2, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.message, `127.0.0.1:${victim.port} stopped answering: no reply within 1s`);
    const nodes = doc.partial.target.nodes as Array<{ address: string; keysSeen: number; complete: boolean }>;
    assert.equal(nodes.length, 3);
    for (const n of nodes) {
      assert.ok(n.keysSeen > 0 && n.keysSeen < 100_000, `${n.address} read ${n.keysSeen}`);
      assert.equal(n.complete, false, 'the healthy masters stopped too: one report, one moment');
    }
    assert.equal(
      doc.partial.totals.keys,
      nodes.reduce((sum, n) => sum + n.keysSeen, 0),
    );
  });
});

/** Write commands name their target on stderr before the first write: the rest is the error. */
function announced<R extends { stderr: string }>(r: R): R {
  assert.match(r.stderr, /^keywarden: (writing TTLs to|undoing TTLs on) redis:\/\/[^\n]+\n/);
  return { ...r, stderr: r.stderr.replace(/^keywarden: (writing TTLs to|undoing TTLs on) [^\n]*\n/, '') };
}
