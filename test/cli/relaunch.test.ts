/**
 * A one-shot low-impact run starts again in a single-threaded V8 (src/cli/relaunch.ts). The
 * process the user started only waits, so everything a user or a supervisor does to it must
 * reach the run, and everything the run ends with must come back out of it. The watch daemon
 * is not relaunched: the process a supervisor starts is the daemon.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { COMMANDS, lowImpactOf } from '../../src/cli/registry.js';
import { wantsSingleThread } from '../../src/cli/relaunch.js';
import { shellWords } from '../support/cli.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CLI as a shell starts it; `detached` puts it in its own process group, as a terminal does. */
function startCli(args: string[], detached = false) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, out, exited };
}

/** The process the launcher started, once it is there. */
async function secondProcess(launcher: ChildProcess): Promise<number> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const children = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8').trim();
    // tsx may start a helper process of its own (esbuild): the run is the child running run.ts.
    for (const pid of children ? children.split(' ').map(Number) : []) {
      const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
      if (cmdline.includes('src/cli/run.ts')) return pid;
    }
    await sleep(20);
  }
  throw new Error('the launcher started no second process');
}

/** Running, as opposed to gone or a zombie waiting for init to collect it. */
function running(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

function statField(pid: number, field: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces; field 3 (state) is index 0.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field - 3];
}

describe('which runs start single-threaded', () => {
  const argv = (...args: string[]) => ['node', 'keywarden', ...args];
  it('the one-shot low-impact runs: scan, fix and undo without --fast, whatever the order of their arguments', () => {
    for (const command of ['scan', 'fix', 'undo']) assert.ok(wantsSingleThread(argv(command, 'redis://h:1'), []), command);
    assert.ok(wantsSingleThread(argv('scan', '-h', 'h', '-p', '1', '--json'), ['--import', 'tsx']));
  });
  it('not with --fast, which asked for speed over latency', () => {
    for (const command of ['scan', 'fix', 'undo', 'watch']) assert.ok(!wantsSingleThread(argv(command, 'redis://h:1', '--fast'), []), command);
  });
  it('exactly the commands the registry declares one-shot low-impact; watch, a daemon, never', () => {
    for (const command of Object.keys(COMMANDS))
      assert.equal(wantsSingleThread(argv(command, 'redis://h:1'), []), lowImpactOf(command) === 'one-shot', command);
    assert.equal(lowImpactOf('watch'), 'daemon');
    assert.ok(!wantsSingleThread(argv('watch', 'redis://h:1'), []));
  });
  it('not other commands, not under a debugger, and never twice', () => {
    for (const command of ['doctor', 'demo', 'policy']) assert.ok(!wantsSingleThread(argv(command, 'redis://h:1'), []), command);
    assert.ok(!wantsSingleThread(argv('--version'), []));
    assert.ok(!wantsSingleThread(argv('scan', 'redis://h:1'), ['--single-threaded']));
    assert.ok(!wantsSingleThread(argv('scan', 'redis://h:1'), ['--inspect-brk']), 'the debugged process does the work');
  });
});

describe('which runs lower their CPU priority: the same declaration', () => {
  /** What main asked of yieldCpu for one command line (each run fails fast: a closed port, a missing file). */
  async function yieldsOf(args: string[]): Promise<Array<boolean | undefined>> {
    const calls: Array<boolean | undefined> = [];
    const io: CliIo = { stdout: () => {}, stderr: () => {}, env: {}, isTTY: false, yieldCpu: (fast) => void calls.push(fast) };
    await main(['node', 'keywarden', ...args], io);
    return calls;
  }
  it('every low-impact command asks for it, passing --fast; the others never do', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const runs: Record<string, string[]> = {
      scan: ['scan', closed, '--timeout', '1s'],
      fix: ['fix', closed, '--match', 'a:*', '--ttl', '1h', '--timeout', '1s'],
      undo: ['undo', closed, '--journal', '/nonexistent/journal.jsonl', '--timeout', '1s'],
      watch: ['watch', closed, '--interval', 'soon'],
      doctor: ['doctor', closed, '--timeout', '1s'],
      policy: ['policy', 'init', closed, '--timeout', '1s'],
      rdb: ['rdb', '/nonexistent/dump.rdb'],
      report: ['report', 'merge', '/nonexistent/a.json'],
      lint: ['lint', '/nonexistent/src'],
    };
    for (const [command, args] of Object.entries(runs)) {
      const expected = lowImpactOf(command) !== undefined ? [undefined] : [];
      assert.deepEqual(await yieldsOf(args), expected, command);
      if (lowImpactOf(command) !== undefined) assert.deepEqual(await yieldsOf([...args, '--fast']), [true], `${command} --fast`);
    }
  });
});

describe('a relaunched run, seen from outside', () => {
  let server: RedisServer;
  let url: string;
  before(async () => {
    server = await startRedis();
    url = `redis://127.0.0.1:${server.port}`;
    const c = server.client();
    const p = c.pipeline();
    for (let i = 0; i < 3000; i++) p.set(`session:${10_000_000 + i}`, 'v');
    await p.exec();
    c.disconnect();
  });
  after(() => server.stop());

  // --max-ops 300: ten seconds of scanning, time enough to act on it.
  const slowScan = () => ['scan', url, '--max-ops', '300'];

  /** SCAN calls the server has answered so far. */
  const scanCalls = async (): Promise<number> => {
    const c = server.client();
    try {
      return Number(/^cmdstat_scan:calls=(\d+)/m.exec(await c.info('commandstats'))?.[1] ?? 0);
    } finally {
      c.disconnect();
    }
  };

  /**
   * Readiness, not a sleep: the second process has sent SCAN after `before` calls, so it is
   * scanning, with its signal handling in place (under load, loading the CLI can take longer
   * than any fixed sleep, and a Ctrl-C before then ends the process by the signal itself).
   */
  async function scanning(before: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await scanCalls()) <= before) {
      if (Date.now() > deadline) throw new Error('the relaunched scan never sent SCAN');
      await sleep(20);
    }
  }

  it('does its work in a second process: single-threaded V8, nice 10', async (t) => {
    const before = await scanCalls();
    const { child, exited } = startCli(slowScan());
    t.after(() => child.kill('SIGKILL'));
    const pid = await secondProcess(child);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    assert.ok(cmdline.includes('--single-threaded'), cmdline.join(' '));
    assert.deepEqual(cmdline.slice(-4), slowScan(), 'the same arguments');
    const deadline = Date.now() + 10_000;
    while (Number(statField(pid, 19)) !== Math.max(10, getPriority()) && Date.now() < deadline) await sleep(20);
    assert.equal(Number(statField(pid, 19)), Math.max(10, getPriority()), 'the scanning process works at nice 10');
    await scanning(before);
    child.kill('SIGINT');
    assert.equal((await exited).code, 130);
  });

  it('one Ctrl-C on a terminal reaches both processes and still counts once: partial report, exit 130', async (t) => {
    const before = await scanCalls();
    const { child, out, exited } = startCli(slowScan(), true);
    t.after(() => child.kill('SIGKILL'));
    await secondProcess(child);
    await scanning(before);
    // A terminal signals the whole foreground process group; the launcher passes its copy on.
    process.kill(-child.pid!, 'SIGINT');
    assert.equal((await exited).code, 130, out.stderr);
    assert.match(out.stdout, /INCOMPLETE: interrupted after/);
    assert.match(out.stdout, /session:\*/);
  });

  it('SIGTERM to the launcher ends the scan, and the launcher ends by SIGTERM too', async (t) => {
    const { child, exited } = startCli(slowScan());
    t.after(() => child.kill('SIGKILL'));
    const pid = await secondProcess(child);
    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: null, signal: 'SIGTERM' });
    const deadline = Date.now() + 5000;
    while (running(pid) && Date.now() < deadline) await sleep(20);
    assert.ok(!running(pid), 'the scan stopped');
  });

  it('kill -9 of the launcher ends the scan too: nothing goes on unseen', async (t) => {
    const { child, exited } = startCli(slowScan());
    t.after(() => child.kill('SIGKILL'));
    const pid = await secondProcess(child);
    child.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + 5000;
    while (running(pid) && Date.now() < deadline) await sleep(20);
    assert.ok(!running(pid), 'the scan went on without its launcher');
  });

  it('fix: one Ctrl-C on a terminal stops it after the batch in flight, with the advice to resume', async (t) => {
    const journal = join(mkdtempSync(join(tmpdir(), 'keywarden-relaunch-')), 'fix.jsonl');
    const { child, out, exited } = startCli(['fix', url, '--match', 'session:*', '--ttl', '1h', '--apply', '--journal', journal, '--max-ops', '300'], true);
    t.after(() => child.kill('SIGKILL'));
    await secondProcess(child);
    const c = server.client();
    t.after(() => c.disconnect());
    // Interrupt once it has written some TTLs.
    const deadline = Date.now() + 20_000;
    const withTtl = async () => Number(/expires=(\d+)/.exec(await c.info('keyspace'))?.[1] ?? 0);
    while ((await withTtl()) === 0 && Date.now() < deadline) await sleep(50);
    process.kill(-child.pid!, 'SIGINT');
    assert.equal((await exited).code, 130, out.stderr);
    // The report of what was done, not a quit at once: a repeated signal would skip it.
    assert.match(out.stdout, /Stopped early \(interrupted\)\.\nContinue with: /);
    const expires = await withTtl();
    assert.ok(expires > 0 && expires < 3000, `stopped part way: ${expires} of 3000 keys with a TTL`);
    // The printed resume command, pasted as is (after the CLI invocation), finishes the run.
    const line = /^Continue with: (?:npx )?keywarden (.+)$/m.exec(out.stdout)?.[1];
    assert.ok(line !== undefined && line.startsWith(`fix ${url} `), out.stdout);
    const resumed = startCli(shellWords(line));
    t.after(() => resumed.child.kill('SIGKILL'));
    assert.equal((await resumed.exited).code, 0, resumed.out.stderr);
    assert.match(resumed.out.stdout, /, resumed/);
    assert.equal(await withTtl(), 3000);
  });

  it("watch runs without a wrapper: its pid is the daemon, /healthz answers, a supervisor's SIGTERM to the group saves the checkpoint once and exits 0", async (t) => {
    const statePath = join(mkdtempSync(join(tmpdir(), 'keywarden-relaunch-')), 'watch.json');
    const { child, out, exited } = startCli(
      [
        'watch',
        url,
        '--listen',
        '127.0.0.1:0',
        '--state',
        statePath,
        '--max-ops',
        '300',
        '--checkpoint-interval',
        '200ms',
        '--no-doctor',
        '--log-format',
        'json',
      ],
      true,
    );
    t.after(() => child.kill('SIGKILL'));
    const deadline = Date.now() + 20_000;
    while (!/"msg":"listening"/.test(out.stderr) && Date.now() < deadline) await sleep(50);
    const listening = out.stderr.split('\n').find((l) => l.includes('"msg":"listening"'));
    assert.ok(listening, out.stderr);
    // The process the supervisor started is the one serving: no second process of the CLI.
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
    for (const pid of children ? children.split(' ').map(Number) : []) {
      const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
      assert.ok(!cmdline.includes('src/cli/run.ts'), `a second process of the CLI: ${cmdline}`);
    }
    assert.ok(!readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').includes('--single-threaded'), 'not relaunched');
    const base = (JSON.parse(listening) as { url: string }).url;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await sleep(1000);
    process.kill(-child.pid!, 'SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null }, out.stderr);
    const msgs = out.stderr
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.deepEqual(msgs.slice(-3), ['signal received', 'stopping: saving the checkpoint', 'stopped']);
    assert.equal(msgs.filter((m) => m === 'signal received').length, 1, 'the signal is received once');
    assert.ok(existsSync(statePath), 'checkpoint written');
  });

  it('exit codes and the one-line error come back out of the launcher', async () => {
    const refused = startCli(['scan', `redis://127.0.0.1:${await freePort()}`]);
    assert.equal((await refused.exited).code, 2);
    assert.match(refused.out.stderr, /^keywarden: connection refused by redis:\/\/127\.0\.0\.1:\d+\nhint: .+\n$/);
    const done = startCli(['scan', url, '--json']);
    assert.equal((await done.exited).code, 0, done.out.stderr);
    assert.equal(JSON.parse(done.out.stdout).totals.keys, 3000);
  });
});
