import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runnableFix } from '../../src/doctor/commands.js';
import { runCli } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';

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
    const lines = runnableFix(['keywarden fix --policy keywarden.yml --apply', 'keywarden watch --policy keywarden.yml'], { ...base, hasPolicy: false, cli: 'npx keywarden' });
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
