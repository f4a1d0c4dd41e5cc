/** `keywarden watch` flags: mistakes exit 2 with one line and a hint, before anything listens. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { parseListen, registerWatch } from '../../src/cli/commands/watch.js';
import { exitCodeOf } from '../../src/cli/runner.js';

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const program = new Command().exitOverride();
  registerWatch(program, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, isTTY: false });
  await program.parseAsync(['node', 'keywarden', 'watch', ...args]);
  return { code: exitCodeOf(program), stdout, stderr };
}

describe('keywarden watch flags', () => {
  const cases: Array<{ args: string[]; message: RegExp; hint: RegExp }> = [
    { args: ['--interval', 'soon'], message: /--interval: 'soon' is not a positive duration/, hint: /--interval 30s/ },
    { args: ['--listen', 'nowhere'], message: /--listen: 'nowhere' is not host:port/, hint: /127\.0\.0\.1:9121/ },
    { args: ['--enforce'], message: /--enforce needs the TTLs of a policy/, hint: /--policy/ },
    { args: ['--protect-metrics'], message: /--protect-metrics needs a token/, hint: /--auth-token/ },
    { args: ['--alert-webhook', 'ftp://x'], message: /--alert-webhook is not an http\(s\) URL/, hint: /https:/ },
    { args: ['--top', '0'], message: /--top must be at least 1/, hint: /--top 20/ },
    { args: ['--listen', '0.0.0.0:0', '--auth-token', 'short-token'], message: /--auth-token is too weak .* at least 16 characters/, hint: /openssl rand/ },
    { args: ['--listen', '0.0.0.0:0', '--auth-token', '   '], message: /--auth-token is too weak/, hint: /127\.0\.0\.1/ },
  ];
  for (const c of cases) {
    it(`${c.args.join(' ')} → exit 2`, async () => {
      const r = await run(['redis://127.0.0.1:1', '--no-state', ...c.args]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      const [message, hint] = r.stderr.trim().split('\n');
      assert.match(message, c.message);
      assert.match(hint, c.hint);
    });
  }

  it('parses --listen forms', () => {
    assert.deepEqual(parseListen('127.0.0.1:9121'), { host: '127.0.0.1', port: 9121 });
    assert.deepEqual(parseListen(':9121'), { host: '127.0.0.1', port: 9121 });
    assert.deepEqual(parseListen('9121'), { host: '127.0.0.1', port: 9121 });
    assert.deepEqual(parseListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
    assert.deepEqual(parseListen('[::1]:9121'), { host: '::1', port: 9121 });
  });
});
