import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runnableFix } from '../../src/doctor/commands.js';
import { resolveTarget } from '../../src/target/spec.js';
import { runCli, shellWords } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startTlsRedis, type TlsRedis } from '../support/tls.js';

describe('doctor: suggested commands run as printed', () => {
  const base = { target: 'redis://10.0.0.5:6380', hasPolicy: true, policyFile: 'keywarden.yml' };

  it('puts the diagnosed target into every keywarden command, never into prose or other tools', () => {
    assert.deepEqual(
      runnableFix(
        [
          'keywarden fix --policy keywarden.yml (dry run: shows the plan), then the same with --apply',
          "or ad hoc for one pattern: keywarden fix --match 'session:*' --ttl 24h --apply",
          'find what is filling it: keywarden scan --sample 1%',
          'stop new leaks at the source: wrap the client with keywarden guard (the same policy file)',
          'CONFIG SET maxmemory-policy allkeys-lru',
          'keywarden scan redis://other:1 stays as written',
        ],
        base,
      ),
      [
        'keywarden fix redis://10.0.0.5:6380 --policy keywarden.yml (dry run: shows the plan), then the same with --apply',
        "or ad hoc for one pattern: keywarden fix redis://10.0.0.5:6380 --match 'session:*' --ttl 24h --apply",
        'find what is filling it: keywarden scan redis://10.0.0.5:6380 --sample 1%',
        'stop new leaks at the source: wrap the client with keywarden guard (the same policy file)',
        'CONFIG SET maxmemory-policy allkeys-lru',
        'keywarden scan redis://other:1 stays as written',
      ],
    );
  });

  it('adds a policy init step before the first command that needs a policy file no one wrote yet', () => {
    const lines = runnableFix(['keywarden fix --policy keywarden.yml --apply', 'keywarden watch --policy keywarden.yml'], {
      ...base,
      hasPolicy: false,
      cli: 'npx keywarden',
    });
    assert.deepEqual(lines, [
      'no policy file yet: write a starter one and review it: npx keywarden policy init redis://10.0.0.5:6380 > keywarden.yml',
      'npx keywarden fix redis://10.0.0.5:6380 --policy keywarden.yml --apply',
      'npx keywarden watch redis://10.0.0.5:6380 --policy keywarden.yml',
    ]);
  });

  it('never prints credentials: the URL loses them and the line says to set REDISCLI_AUTH', () => {
    const lines = runnableFix(['keywarden scan --sample 1%'], { ...base, target: 'rediss://<credentials redacted>@db.internal:6379/2' });
    assert.equal(lines[0], 'keywarden scan rediss://db.internal:6379/2 --sample 1%');
    assert.match(lines[1], /export REDISCLI_AUTH=<password>/);
    assert.ok(!lines.join('\n').includes('redacted'));
  });

  it("keeps the ACL user name and the TLS flags, never the password (a URL's user@ alone would be read as a password)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'keywarden-printed-'));
    const ca = join(dir, 'my ca.pem');
    writeFileSync(ca, 'not read by this test');
    const spec = resolveTarget({ url: 'redis://app:s3cret@db.internal:6380/2', tls: true, cacert: ca, insecure: true }, {});
    assert.deepEqual(spec.command, { args: `rediss://db.internal:6380/2 --user app --cacert '${ca}' --insecure`, needsAuth: true });
    assert.deepEqual(resolveTarget({ url: 'rediss://db.internal', user: "o'neil" }, {}).command, {
      args: "rediss://db.internal:6379 --user 'o'\\''neil'",
      needsAuth: false,
    });
    assert.deepEqual(resolveTarget({ url: 'redis://db.internal' }, { REDISCLI_AUTH: 'x' }).command, { args: 'redis://db.internal:6379', needsAuth: true });
    const lines = runnableFix(['keywarden fix --policy keywarden.yml --apply'], { ...base, hasPolicy: false, target: spec.command });
    assert.deepEqual(lines, [
      `no policy file yet: write a starter one and review it: keywarden policy init ${spec.command.args} > keywarden.yml`,
      `keywarden fix ${spec.command.args} --policy keywarden.yml --apply`,
      'the target needs a password: export REDISCLI_AUTH=<password> before these commands (keywarden reads it as redis-cli does)',
    ]);
    assert.ok(!lines.join('\n').includes('s3cret'));
  });

  describe('live, TLS with an ACL user', () => {
    let tls: TlsRedis;
    const password = 'acl-pass-7f3';
    before(async () => {
      tls = await startTlsRedis();
      const c = tls.server.client();
      await c.call('ACL', 'SETUSER', 'auditor', 'on', `>${password}`, '~*', '+@all');
      const p = c.pipeline();
      for (let i = 0; i < 1500; i++) p.set(`session:${i}`, 'v');
      await p.exec();
      c.disconnect();
    });
    after(() => tls.stop());

    it("doctor's printed commands, pasted with REDISCLI_AUTH set, connect as the user over TLS", async () => {
      const { stdout } = await runCli(['doctor', `rediss://auditor:${password}@localhost:${tls.tlsPort}`, '--cacert', tls.caFile, '--fail-on', 'none'], {
        PATH: '',
      });
      assert.ok(!stdout.includes(password));
      const init = /npx keywarden (policy init .*?) > keywarden\.yml/.exec(stdout)?.[1];
      assert.ok(init, stdout);
      assert.match(init, /--user auditor --cacert /);
      assert.match(stdout, /export REDISCLI_AUTH=<password>/);
      const pasted = await runCli(shellWords(init), { REDISCLI_AUTH: password });
      assert.equal(pasted.code, 0, pasted.stderr);
      assert.match(pasted.stdout, /session:\*/);
      const refused = await runCli(shellWords(init), {});
      assert.notEqual(refused.code, 0, 'without REDISCLI_AUTH the user cannot log in: the command did use the user name');
    });

    it("scan's fix hint names the target the same way, and runs as printed", async () => {
      const policy = join(mkdtempSync(join(tmpdir(), 'keywarden-printed-')), 'keywarden.yml');
      writeFileSync(policy, 'rules:\n  - match: "session:*"\n    ttl: 24h\n');
      const scanned = await runCli(['scan', `rediss://auditor:${password}@localhost:${tls.tlsPort}`, '--cacert', tls.caFile, '--policy', policy], { PATH: '' });
      assert.equal(scanned.code, 1, scanned.stderr);
      assert.ok(!scanned.stdout.includes(password));
      const fix = /(npx keywarden fix .*)$/m.exec(scanned.stdout)?.[1];
      assert.ok(fix, scanned.stdout);
      const words = shellWords(fix);
      assert.deepEqual(words.slice(2, 8), ['fix', `rediss://localhost:${tls.tlsPort}`, '--user', 'auditor', '--cacert', tls.caFile]);
      const plan = await runCli(words.slice(2), { REDISCLI_AUTH: password });
      assert.equal(plan.code, 0, plan.stderr);
      assert.match(plan.stdout, /DRY RUN: nothing was written/);
    });
  });

  describe('live', () => {
    let server: RedisServer;
    before(async () => {
      server = await startRedis();
      const c = server.client();
      const p = c.pipeline();
      for (let i = 0; i < 1500; i++) p.set(`session:${i}`, 'v');
      await p.exec();
      c.disconnect();
    });
    after(() => server.stop());

    it('keywarden doctor <url> without a policy prints runnable fixes for that url', async () => {
      // An empty PATH: no keywarden executable on it, so hints say npx keywarden.
      const { stdout } = await runCli(['doctor', server.url, '--fail-on', 'none'], { PATH: '' });
      assert.match(stdout, new RegExp(`npx keywarden policy init ${server.url} > keywarden\\.yml`));
      assert.match(stdout, new RegExp(`npx keywarden fix ${server.url} --policy keywarden\\.yml`));
      assert.doesNotMatch(stdout, /keywarden (fix|scan) --/, 'no suggested command without its target');
    });
  });
});
