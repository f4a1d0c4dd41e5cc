import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';

const SECRET = 'hunter2-S3cret';

const run = runCli;

describe('keywarden scan (CLI)', () => {
  let server: RedisServer;
  let url: string;
  before(async () => {
    server = await startRedis({ config: { requirepass: SECRET } });
    url = `redis://default:${SECRET}@127.0.0.1:${server.port}`;
    const c = server.client({ password: SECRET });
    const p = c.pipeline();
    for (let i = 0; i < 2000; i++) p.set(`session:${10_000_000 + i}`, 'v');
    for (let i = 0; i < 500; i++) p.set(`cache:product:${i}`, 'v', 'EX', 600);
    p.set('evil:\x1b]0;pwned\x07\x1b[2J', 'v');
    p.set('xss:<img src=x onerror=alert(1)>', 'v');
    await p.exec();
    c.disconnect();
  });
  after(() => server.stop());

  it('--json prints one document with the contract fields and no credentials', async () => {
    const { code, stdout, stderr } = await run(['scan', url, '--json']);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.kind, 'keywarden.scan');
    assert.equal(report.schemaVersion, 1);
    assert.equal(report.target.mode, 'standalone');
    assert.match(report.target.redisVersion, /^\d/);
    assert.deepEqual(
      Object.keys(report.coverage)
        .filter((k) => ['complete', 'sampled', 'keysSeen', 'dbsize'].includes(k))
        .sort(),
      ['complete', 'dbsize', 'keysSeen', 'sampled'],
    );
    for (const k of ['keys', 'bytes', 'noTtlKeys', 'noTtlBytes']) assert.equal(typeof report.totals[k], 'number');
    const p = report.patterns.find((x: { pattern: string }) => x.pattern === 'session:*');
    for (const k of ['keys', 'bytes', 'noTtlKeys', 'noTtlBytes', 'types', 'ttl', 'examples']) assert.ok(k in p, k);
    assert.deepEqual(Object.keys(p.ttl), ['none', 'lt1m', 'lt1h', 'lt1d', 'lt7d', 'ge7d']);
    assert.equal(
      report.patterns.reduce((s: number, x: { keys: number }) => s + x.keys, 0),
      report.totals.keys,
    );
    assert.ok(Array.isArray(report.bigKeys) && 'ttlMs' in report.bigKeys[0]);
    assert.ok(!stdout.includes(SECRET) && !stderr.includes(SECRET));
    assert.ok(report.target.url.includes('redacted'));
  });

  it('the table escapes key names, so a key cannot send terminal escape sequences', async () => {
    const { code, stdout } = await run(['scan', url, '--top', '50']);
    assert.equal(code, 0);
    assert.ok(!stdout.includes('\x1b'), 'raw ESC in output');
    assert.ok(!stdout.includes('\x07'), 'raw BEL in output');
    assert.match(stdout, /session:\*/);
    assert.ok(!stdout.includes(SECRET));
    const evil = await run(['scan', url, '--match', 'evil:*']);
    assert.ok(!evil.stdout.includes('\x1b') && !evil.stdout.includes('\x07'));
    assert.ok(evil.stdout.includes('evil:\\x1b]0;pwned\\x07\\x1b[2J'), evil.stdout);
  });

  it('--format markdown and --format html --out', async () => {
    const md = await run(['scan', url, '--format', 'markdown']);
    assert.match(md.stdout, /^# keywarden scan/);
    assert.match(md.stdout, /\| `session:\*` \|/);
    const out = join(mkdtempSync(join(tmpdir(), 'kw-')), 'report.html');
    const html = await run(['scan', url, '--format', 'html', '--out', out]);
    assert.equal(html.code, 0, html.stderr);
    const page = readFileSync(out, 'utf8');
    assert.match(page, /^<!doctype html>/);
    assert.ok(!page.includes('<img src=x'), 'a key name reached the page as markup');
    assert.ok(page.includes('\\u003cimg src=x'), 'the key is embedded as escaped JSON');
    assert.ok(!page.includes(SECRET));
    assert.match(page, /Chart\.js v4/);
  });

  it('--policy exits 1 when keys break their rule, 0 when they follow it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-'));
    const bad = join(dir, 'bad.yml');
    const good = join(dir, 'good.yml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(bad, 'rules:\n  - match: "session:*"\n    ttl: 24h\n');
    writeFileSync(good, 'rules:\n  - match: "cache:*"\n    ttl: 1h\n');
    assert.equal((await run(['scan', url, '--policy', bad])).code, 1);
    assert.equal((await run(['scan', url, '--policy', good, '--match', 'cache:*'])).code, 0);
  });

  it('user mistakes: one line, exit 2, no stack; --json makes it a JSON document', async () => {
    const refused = await run(['scan', `redis://127.0.0.1:${await freePort()}`]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^keywarden: connection refused by redis:\/\/127\.0\.0\.1:\d+\nhint: /);
    assert.ok(!/\bat \S+ \(/.test(refused.stderr), 'stack trace printed');

    const wrong = await run(['scan', `redis://default:nope-${SECRET}@127.0.0.1:${server.port}`, '--json']);
    assert.equal(wrong.code, 2);
    const doc = JSON.parse(wrong.stdout);
    assert.equal(doc.kind, 'keywarden.error');
    assert.match(doc.message, /authentication failed/);
    assert.ok(doc.hint);
    assert.ok(!wrong.stdout.includes(SECRET));

    assert.equal((await run(['scan', url, '--sample', 'lots'])).code, 2);
    assert.equal((await run(['scan', url, '--no-such-flag'])).code, 2);
    assert.equal((await run(['scan', url, '--format', 'html'])).code, 2);
    const badPolicy = await run(['scan', url, '--policy', '/nonexistent/keywarden.yml']);
    assert.equal(badPolicy.code, 2);
    assert.match(badPolicy.stderr, /keywarden\.yml/);
  });

  it('takes the target from REDIS_URL, and -h/-p/-a like redis-cli', async () => {
    const viaEnv = await run(['scan', '--json'], { REDIS_URL: url });
    assert.equal(JSON.parse(viaEnv.stdout).totals.keys, 2502);
    const viaFlags = await run(['scan', '-h', '127.0.0.1', '-p', String(server.port), '-a', SECRET, '--json']);
    assert.equal(JSON.parse(viaFlags.stdout).totals.keys, 2502);
  });

  it('Ctrl-C prints the partial report marked incomplete', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'scan', url, '--max-ops', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // Interrupt once the scan is under way: its connection shows up named "keywarden".
    const watcher = server.client({ password: SECRET });
    const deadline = Date.now() + 30_000;
    while (!((await watcher.client('LIST')) as string).includes('name=keywarden') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    watcher.disconnect();
    await new Promise((r) => setTimeout(r, 700));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 130, stderr);
    assert.match(stdout, /INCOMPLETE: interrupted after/);
    assert.match(stdout, /session:\*/);
    assert.ok(!stdout.includes(SECRET) && !stderr.includes(SECRET));
  });

  it('stops quietly when the reader of its output goes away (| head)', async () => {
    const { spawnSync } = await import('node:child_process');
    // --top 2500 makes the JSON far larger than a pipe's buffer, so the write hits the closed pipe.
    const cmd = `${process.execPath} --import tsx src/cli/run.ts scan ${url} --json --top 2500 | head -c 100 > /dev/null; echo "status \${PIPESTATUS[0]}"`;
    const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.stdout.trim(), 'status 0', r.stderr);
    assert.equal(r.stderr, '', 'no stack trace');
  });

  it('shows a progress bar on a terminal and none on a pipe', async () => {
    const { spawnSync } = await import('node:child_process');
    const cmd = `${process.execPath} --import tsx src/cli/run.ts scan ${url} --max-ops 1500`;
    // `script` runs the command on a pseudo-terminal, as an operator's shell would.
    const tty = spawnSync('script', ['-qfec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(tty.status, 0, tty.stderr);
    assert.match(tty.stdout, /scanning \[.*\] \d+% \| [\d,]+ of ~[\d,]+ keys \| [\d,]+ keys\/s/);
    const piped = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'scan', url, '--max-ops', '5000'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(piped.status, 0);
    assert.ok(!/scanning \[/.test(piped.stderr + piped.stdout));
  });
});
