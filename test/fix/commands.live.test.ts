/**
 * fix prints an undo command and, when it stopped early, a resume command: both must run as
 * printed, on the server fix wrote to, without the password ever appearing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixCommands, renderFixText } from '../../src/cli/render/fix-text.js';
import type { FixReport } from '../../src/fix/types.js';
import { shellWords } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { cli, fill, ttlCounts } from './support.js';

/** The words after the printed CLI invocation (`npx keywarden` with an empty PATH). */
function argsOf(line: string): string[] {
  const words = shellWords(line);
  assert.deepEqual(words.slice(0, 2), ['npx', 'keywarden'], line);
  return words.slice(2);
}

function report(over: Partial<FixReport>): FixReport {
  const zero = { matched: 0, needTtl: 0, applied: 0, alreadyHadTtl: 0, changedSinceScan: 0, shortened: 0, bytes: 0 };
  return {
    kind: 'keywarden.fix',
    schemaVersion: 1,
    takenAt: '2026-12-02T16:00:00.000Z',
    dryRun: false,
    target: { url: 'redis://10.0.0.5:6380/2', mode: 'standalone', nodes: ['10.0.0.5:6380'] },
    policy: {},
    rules: [{ ...zero, match: "it's:*", ttl: '24h', examples: [] }],
    totals: { ...zero, keysScanned: 0, durable: 0, noRule: 0, noRuleExamples: [], durationMs: 0, keysPerSecond: 0, replicaPauseMs: 0 },
    journal: 'my runs/fix.jsonl',
    resumed: false,
    complete: false,
    interrupted: 'interrupted',
    ...over,
  };
}

describe('fix: the undo and resume commands it prints run as printed', () => {
  it('name the target, the same rules, --max-ttl and the journal, quoted for a shell', () => {
    const c = fixCommands(report({ policy: { maxTtl: '30d' } }), 'my runs/fix.jsonl', { cli: 'npx keywarden' });
    assert.equal(c.undo, "npx keywarden undo redis://10.0.0.5:6380/2 --journal 'my runs/fix.jsonl'");
    assert.equal(
      c.resume,
      "npx keywarden fix redis://10.0.0.5:6380/2 --match 'it'\\''s:*' --ttl 24h --max-ttl 30d --apply --resume --journal 'my runs/fix.jsonl'",
    );
    assert.deepEqual(shellWords(c.resume).slice(4, 8), ['--match', "it's:*", '--ttl', '24h']);
    const withFile = fixCommands(report({ policy: { file: 'keywarden.yml' } }), 'fix.jsonl');
    assert.equal(withFile.resume, 'keywarden fix redis://10.0.0.5:6380/2 --policy keywarden.yml --apply --resume --journal fix.jsonl');
  });

  it('never print credentials, nor a placeholder: the URL loses them and a line says to set REDISCLI_AUTH', () => {
    const text = renderFixText(report({ target: { url: 'rediss://<credentials redacted>@db.internal:6379', mode: 'standalone', nodes: [] } }), {
      cli: 'keywarden',
    });
    assert.match(text, /^Undo with: keywarden undo rediss:\/\/db\.internal:6379 --journal 'my runs\/fix\.jsonl'$/m);
    assert.match(text, /^Continue with: keywarden fix rediss:\/\/db\.internal:6379 --match .* --apply --resume --journal 'my runs\/fix\.jsonl'$/m);
    assert.match(text, /export REDISCLI_AUTH=<password>/);
    assert.doesNotMatch(text, /\[url\]/);
    for (const line of text.split('\n').filter((l) => /^(Undo|Continue) with:/.test(l))) assert.doesNotMatch(line, /redacted/);
  });

  describe('live, on a server with a password', () => {
    let server: RedisServer;
    const password = 'sw0rdf1sh-secret';
    before(async () => {
      server = await startRedis({ config: { requirepass: password } });
    });
    after(() => server.stop());

    it('the printed undo command, pasted with REDISCLI_AUTH set, undoes that run on that server', async () => {
      const c = server.client({ password });
      after(() => c.disconnect());
      await fill(c, 'session:', 500);
      const journal = join(mkdtempSync(join(tmpdir(), 'keywarden-commands-')), 'fix run.jsonl');
      // An empty PATH: no keywarden on it, so the commands say npx keywarden.
      const fixed = await cli(
        ['fix', `redis://:${password}@127.0.0.1:${server.port}`, '--match', 'session:*', '--ttl', '1h', '--apply', '--journal', journal],
        { PATH: '' },
      );
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.deepEqual(await ttlCounts(c, 'session:*'), { withTtl: 500, without: 0 });
      assert.ok(!fixed.stdout.includes(password) && !fixed.stderr.includes(password), 'the password was printed');
      const line = /^Undo with: (.+)$/m.exec(fixed.stdout)?.[1];
      assert.ok(line, fixed.stdout);
      assert.match(fixed.stdout, /export REDISCLI_AUTH=<password>/);
      const undone = await cli(argsOf(line), { PATH: '', REDISCLI_AUTH: password });
      assert.equal(undone.code, 0, undone.stderr);
      assert.deepEqual(await ttlCounts(c, 'session:*'), { withTtl: 0, without: 500 });
    });

    it('keeps the ACL user name in the printed undo command; fix and undo say when they were taken', async () => {
      const c = server.client({ password });
      after(() => c.disconnect());
      await c.call('ACL', 'SETUSER', 'fixer', 'on', '>fixer-pass', '~*', '+@all');
      await fill(c, 'acl:', 200);
      const journal = join(mkdtempSync(join(tmpdir(), 'keywarden-commands-')), 'fix.jsonl');
      const started = Date.now() - 1000;
      const taken = /, taken (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/;
      const within = (iso: string | undefined) => {
        const t = Date.parse(iso ?? '');
        assert.ok(t >= started && t <= Date.now(), `takenAt ${iso}`);
      };
      const plan = await cli(['fix', `redis://fixer:fixer-pass@127.0.0.1:${server.port}`, '--match', 'acl:*', '--ttl', '1h', '--json']);
      within((JSON.parse(plan.stdout) as FixReport).takenAt);
      const fixed = await cli(
        ['fix', `redis://fixer:fixer-pass@127.0.0.1:${server.port}`, '--match', 'acl:*', '--ttl', '1h', '--apply', '--journal', journal],
        { PATH: '' },
      );
      assert.equal(fixed.code, 0, fixed.stderr);
      within(`${taken.exec(fixed.stdout.split('\n')[0])?.[1].replace(' ', 'T')}Z`);
      const line = /^Undo with: (.+)$/m.exec(fixed.stdout)?.[1];
      assert.ok(line, fixed.stdout);
      assert.deepEqual(argsOf(line), ['undo', `redis://127.0.0.1:${server.port}`, '--user', 'fixer', '--journal', journal]);
      const preview = await cli([...argsOf(line), '--dry-run'], { PATH: '', REDISCLI_AUTH: 'fixer-pass' });
      assert.equal(preview.code, 0, preview.stderr);
      within(`${taken.exec(preview.stdout)?.[1].replace(' ', 'T')}Z`);
      const undone = await cli([...argsOf(line), '--json'], { PATH: '', REDISCLI_AUTH: 'fixer-pass' });
      assert.equal(undone.code, 0, undone.stderr);
      within((JSON.parse(undone.stdout) as { takenAt?: string }).takenAt);
      assert.deepEqual(await ttlCounts(c, 'acl:*'), { withTtl: 0, without: 200 });
    });
  });
});
