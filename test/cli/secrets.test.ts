/**
 * No secret in any output: every command is run with credentials given every way a user
 * gives them (URL with '/' and '%' in the password, -a, REDISCLI_AUTH, a redis.conf with
 * secret directives, a webhook URL with credentials, a path token and a query secret, an
 * --auth-token), and everything that comes out — stdout, stderr, written files, watch's
 * logs and every HTTP response — is searched for the secrets.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveTarget } from '../../src/target/spec.js';
import { createLogger, startWatch } from '../../src/watch/index.js';
import { runCli } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';

/** base64-like, with '/', '+' and '=' as `openssl rand -base64` makes them. */
const ADMIN = 'Adm/n+Secret=Pw1';
/** With a '%' too: written %25 in a URL. */
const APP = 'App%Secret/Pw2';
const CONF_SECRETS = ['Conf-Requirepass-Secret3', 'Conf-Masterauth-Secret4', 'Conf-User-Secret5', 'Conf-TlsPass-Secret6'];
const HOOK = { user: 'hookuser7', pass: 'Hook-Pass-Secret8', path: 'Hook-Path-Secret9', query: 'Hook-Query-Secret10' };
const TOKEN = 'Token-Secret-11-abcdefgh';
const SECRETS = [
  ADMIN,
  APP,
  encodeURIComponent(ADMIN),
  encodeURIComponent(APP),
  'Adm/n',
  'Secret/Pw2',
  ...CONF_SECRETS,
  HOOK.pass,
  HOOK.path,
  HOOK.query,
  TOKEN,
];

function assertNoSecret(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} contains the secret ${s}:\n${text.slice(0, 2000)}`);
}

describe('no secret in any output', () => {
  let server: RedisServer;
  let dir: string;
  let port: number;
  let hook: Server;
  let hookUrl: string;
  const outputs: Array<{ where: string; text: string }> = [];

  before(async () => {
    server = await startRedis({ config: { requirepass: ADMIN } });
    port = server.port;
    const admin = server.client({ password: ADMIN });
    await admin.call('ACL', 'SETUSER', 'app', 'on', `>${APP}`, '~*', '+@all');
    for (let i = 0; i < 50; i++) await admin.set(`tmp:${i}`, 'x');
    for (let i = 0; i < 50; i++) await admin.set(`session:${i}`, 'x', 'EX', 3600);
    admin.disconnect();
    dir = mkdtempSync(join(tmpdir(), 'keywarden-secrets-'));
    hook = createServer((req, res) => {
      req.resume();
      res.writeHead(500).end('receiver down');
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const addr = hook.address();
    hookUrl = `http://${HOOK.user}:${HOOK.pass}@127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/services/${HOOK.path}?token=${HOOK.query}`;
  });
  after(async () => {
    await server.stop();
    await new Promise<void>((r) => hook.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
    const r = await runCli(args, env);
    outputs.push({ where: `keywarden ${args.join(' ')} (stdout)`, text: r.stdout }, { where: `keywarden ${args.join(' ')} (stderr)`, text: r.stderr });
    return r.code;
  }

  it('CLI commands, with credentials given every way', async () => {
    const adminUrl = `redis://:${ADMIN}@127.0.0.1:${port}`;
    const appUrl = `redis://app:${encodeURIComponent(APP)}@127.0.0.1:${port}`;
    const plain = `redis://127.0.0.1:${port}`;
    // The password with its '/' unencoded, as users paste it: it must work, and not leak.
    assert.equal(await run(['scan', adminUrl, '--fast']), 0);
    for (const target of [[appUrl], [plain, '-a', ADMIN], [plain, '--user', 'app', '-a', APP]]) {
      for (const format of ['table', 'json', 'markdown']) assert.equal(await run(['scan', ...target, '--fast', '--format', format]), 0);
    }
    assert.equal(await run(['scan', plain, '--fast', '--json'], { REDISCLI_AUTH: ADMIN }), 0);
    assert.equal(await run(['scan', adminUrl, '--fast', '--format', 'html', '--out', join(dir, 'report.html')]), 0);
    for (const format of ['text', 'json', 'markdown']) assert.ok([0, 1].includes(await run(['doctor', appUrl, '--format', format])));
    assert.equal(await run(['policy', 'init', appUrl, '--out', join(dir, 'policy.yml')]), 0);
    assert.equal(await run(['fix', appUrl, '--match', 'tmp:*', '--ttl', '1h']), 0);
    const journal = join(dir, 'fix.jsonl');
    assert.equal(await run(['fix', appUrl, '--match', 'tmp:*', '--ttl', '1h', '--apply', '--journal', journal]), 0);
    assert.equal(await run(['undo', appUrl, '--journal', journal, '--dry-run']), 0);
    assert.equal(await run(['undo', appUrl, '--journal', journal, '--json']), 0);
    // Failures echo the target too: a wrong password, a malformed URL, a refused connection.
    assert.equal(await run(['scan', `redis://app:${encodeURIComponent(ADMIN)}@127.0.0.1:${port}`]), 2);
    assert.equal(await run(['scan', `redis://app:${ADMIN}@127.0.0.1:notaport`]), 2);
    assert.equal(await run(['scan', `redis://app:${ADMIN}@127.0.0.1:1`]), 2);
    assert.equal(await run(['doctor', `http://app:${ADMIN}@127.0.0.1:1`]), 2);
  });

  it('doctor --config masks every secret directive in every format', async () => {
    const conf = join(dir, 'redis.conf');
    writeFileSync(
      conf,
      [
        `requirepass ${CONF_SECRETS[0]}`,
        `requirepass "${CONF_SECRETS[0]}-second"`,
        `masterauth ${CONF_SECRETS[1]}`,
        `masterauth ${CONF_SECRETS[1]}-again`,
        `user alice on >${CONF_SECRETS[2]} ~* +@all`,
        `tls-key-file-pass ${CONF_SECRETS[3]}`,
        'bind 127.0.0.1',
      ].join('\n'),
    );
    for (const format of ['text', 'json', 'markdown']) assert.ok([0, 1].includes(await run(['doctor', '--config', conf, '--format', format])));
  });

  it('watch: logs, webhook failures, every HTTP route', async () => {
    const logs: string[] = [];
    const state = join(dir, 'watch-state.json');
    const handle = await startWatch({
      target: resolveTarget({ url: `redis://app:${encodeURIComponent(APP)}@127.0.0.1:${port}` }, {}),
      listen: { host: '127.0.0.1', port: 0 },
      intervalMs: 200,
      infoIntervalMs: 200,
      checkpointIntervalMs: 200,
      statePath: state,
      doctorIntervalMs: 500,
      authToken: TOKEN,
      policy: { rules: [], alerts: { noTtlKeys: 1 } },
      alertWebhook: hookUrl,
      logger: createLogger((line) => logs.push(line), 'text', 'debug'),
    });
    try {
      const deadline = Date.now() + 15_000;
      while (!logs.some((l) => /alert webhook failed/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(
        logs.some((l) => /alert webhook failed/.test(l)),
        'the webhook failure was logged',
      );
      const auth = { authorization: `Bearer ${TOKEN}` };
      for (const path of ['/', '/metrics', '/healthz', '/readyz', '/api/state', '/dashboard.js', '/nope']) {
        for (const headers of [{}, auth]) {
          const res = await fetch(`${handle.url}${path}`, { headers, redirect: 'manual' });
          const text = `${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await res.text()}`;
          outputs.push({ where: `GET ${path}${'authorization' in headers ? ' (with token)' : ''}`, text });
        }
      }
    } finally {
      await handle.stop();
    }
    outputs.push({ where: 'watch log', text: logs.join('') });
    outputs.push({ where: 'watch state file', text: readFileSync(state, 'utf8') });
  });

  it('nothing that came out holds a secret', () => {
    assert.ok(outputs.length > 40, `${outputs.length} outputs collected`);
    for (const o of outputs) assertNoSecret(o.text, o.where);
    for (const name of readdirSync(dir)) {
      if (name === 'redis.conf') continue;
      assertNoSecret(readFileSync(join(dir, name), 'utf8'), `file ${name}`);
    }
  });
});
