/**
 * Hostile text is inert everywhere: bidi overrides, zero-width and other invisible
 * characters in key names reach no output raw — not the pattern names of the HTML report,
 * the dashboard's data or /metrics — and error text quoting the server (which may quote a
 * key) is escaped before it reaches a terminal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CliIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/runner.js';
import { ConnectionError } from '../../src/errors.js';
import { displayKey, displayPattern } from '../../src/display.js';
import { parsePolicy } from '../../src/policy/index.js';
import { resolveTarget } from '../../src/target/spec.js';
import { createLogger, startWatch } from '../../src/watch/index.js';
import { runCli } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';

/** Right-to-left override, zero-width space, BOM, word joiner, an invisible tag, line separator, ESC. */
const HOSTILE = ['\u202e', '\u200b', '\ufeff', '\u2060', '\u{e0041}', '\u2028', '\u061c', '\x1b'];
const RAW = new RegExp(`[${HOSTILE.join('')}]`, 'u');

describe('hostile text is inert', () => {
  let server: RedisServer;
  let dir: string;
  before(async () => {
    server = await startRedis();
    const c = server.client();
    // Distinct words around each character, so each family keeps its own pattern.
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
    for (const [i, ch] of HOSTILE.entries()) for (let n = 0; n < 5; n++) await c.set(`${words[i]}${ch}${words[7 - i]}:${n}`, 'v');
    c.disconnect();
    dir = mkdtempSync(join(tmpdir(), 'keywarden-hostile-'));
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('displayKey and displayPattern escape every invisible or reordering character', () => {
    for (const ch of HOSTILE) {
      assert.doesNotMatch(displayKey(`a${ch}b`), RAW, JSON.stringify(ch));
      assert.doesNotMatch(displayPattern(`a${ch}*`), RAW, JSON.stringify(ch));
    }
    assert.equal(displayPattern('x\u202e:*'), 'x\\u202e:*');
    assert.equal(displayKey('t\u{e0041}'), 't\\u{e0041}');
    assert.equal(displayKey('plain:ключ:日本'), 'plain:ключ:日本', 'printable text is kept');
  });

  it('the HTML report, table and markdown show pattern names escaped', async () => {
    const html = join(dir, 'report.html');
    assert.equal((await runCli(['scan', server.url, '--format', 'html', '--out', html])).code, 0);
    assert.doesNotMatch(readFileSync(html, 'utf8'), RAW);
    for (const format of ['table', 'markdown']) {
      const r = await runCli(['scan', server.url, '--format', format]);
      assert.equal(r.code, 0);
      assert.doesNotMatch(r.stdout, RAW, format);
      assert.match(r.stdout, /alpha\\u202ehotel:\*/, format);
    }
  });

  it('policy init writes invisible characters as YAML escapes that still match the keys', async () => {
    const r = await runCli(['policy', 'init', server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, RAW);
    assert.match(r.stdout, /match: "alpha\\u202ehotel:\*"/);
    const policy = parsePolicy(r.stdout);
    assert.ok(
      policy.rules.some((rule) => rule.match === 'alpha\u202ehotel:*'),
      'parsed back to the character itself',
    );
  });

  it('the dashboard data and /metrics show pattern names escaped', async () => {
    const logs: string[] = [];
    const w = await startWatch({
      target: resolveTarget({ url: server.url }, {}),
      listen: { host: '127.0.0.1', port: 0 },
      intervalMs: 200,
      infoIntervalMs: 200,
      checkpointIntervalMs: 200,
      statePath: false,
      doctorIntervalMs: false,
      policy: { rules: [], alerts: { noTtlKeys: 1 } },
      logger: createLogger((l) => logs.push(l), 'text', 'debug'),
    });
    try {
      const deadline = Date.now() + 20_000;
      let metrics = '';
      while (!/keywarden_pattern_keys\{[^}]*pattern="alpha\\\\u202ehotel:\*"/.test(metrics) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        metrics = await (await fetch(`${w.url}/metrics`)).text();
      }
      assert.match(metrics, /keywarden_pattern_keys\{[^}]*pattern="alpha\\\\u202ehotel:\*"/);
      assert.doesNotMatch(metrics, RAW);
      const state = await (await fetch(`${w.url}/api/state`)).text();
      assert.match(state, /alpha/);
      // JSON may spell a character as \uXXXX: parsed, then written again raw, before looking.
      assert.doesNotMatch(JSON.stringify(JSON.parse(state)), RAW);
    } finally {
      await w.stop();
    }
    assert.doesNotMatch(logs.join(''), RAW, 'the log');
  });

  it('error text from the server is escaped before the terminal', async () => {
    let stderr = '';
    const io: CliIo = { stdout: () => undefined, stderr: (t) => void (stderr += t), env: {}, isTTY: true };
    // A reply error quoting a key, as the server sends it, and one a command wrapped.
    const reply = Object.assign(new Error('ERR no such key \x1b[2J\x1b]0;pwned\x07evil\u202e'), { name: 'ReplyError' });
    assert.equal(await runCommand(io, false, () => Promise.reject(reply)), 2);
    assert.equal(await runCommand(io, false, () => Promise.reject(new ConnectionError('node said \x1b[31mred', 'hint \x1b[0m'))), 2);
    assert.doesNotMatch(stderr, RAW);
    assert.match(stderr, /\\x1b\[2J/);
    assert.equal(stderr.split('\n').filter(Boolean).length, 4, stderr);
  });
});
