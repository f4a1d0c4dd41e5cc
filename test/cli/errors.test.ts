/**
 * Every command × every class of failure a user or a server can cause ends the same way:
 * one `keywarden: <what>` line and its hint on stderr (or one `keywarden.error` JSON document
 * on stdout with --json), no stack trace, exit 2. One table, run against a real server.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOneErrorLine, runCli } from '../support/cli.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';

const PASS = 'errors-Admin-Pw-1';
const NOSCAN_PASS = 'errors-NoScan-Pw-2';

/** The same failure, given to every command that can meet it. */
interface Row {
  what: string;
  /** Commands and their arguments; `{url}` etc. are filled in below. */
  runs: string[][];
  message: RegExp;
  /** Also run each with --json (commands that have it) and expect one error document. */
  json?: boolean;
}

describe('one line, exit 2, for every command and every error class', () => {
  let server: RedisServer;
  let dir: string;
  let url: string;
  let noscan: string;
  let refused: string;
  let bigPolicy: string;
  let journalDir: string;
  let dump: string;
  let report: string;
  before(async () => {
    server = await startRedis({ config: { requirepass: PASS } });
    const admin = server.client({ password: PASS });
    await admin.call('ACL', 'SETUSER', 'noscan', 'on', `>${NOSCAN_PASS}`, '~*', '+@all', '-scan');
    await admin.set('session:1', 'x');
    // A dump and a saved report, for rdb and report merge.
    await admin.call('SAVE');
    const [, dumpDir] = (await admin.call('CONFIG', 'GET', 'dir')) as string[];
    const [, dumpFile] = (await admin.call('CONFIG', 'GET', 'dbfilename')) as string[];
    dump = join(dumpDir, dumpFile);
    admin.disconnect();
    url = `redis://:${PASS}@127.0.0.1:${server.port}`;
    noscan = `redis://noscan:${NOSCAN_PASS}@127.0.0.1:${server.port}`;
    refused = `redis://127.0.0.1:${await freePort()}`;
    dir = mkdtempSync(join(tmpdir(), 'keywarden-errors-'));
    // 10 MB of rules, as a generated policy gone wrong would be.
    bigPolicy = join(dir, 'big.yml');
    writeFileSync(bigPolicy, `rules:\n${Array.from({ length: 302_000 }, (_, i) => `  - {match: "k${i}:*", ttl: 1h}\n`).join('')}`);
    journalDir = join(dir, 'journal-dir');
    mkdirSync(journalDir);
    report = join(dir, 'report.json');
    const scanned = await runCli(['scan', url, '--json']);
    writeFileSync(report, scanned.stdout);
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const watch = (...args: string[]) => ['watch', ...args, '--no-state', '--listen', '127.0.0.1:0'];
  const rows = (): Row[] => [
    {
      what: 'database out of range (URL path)',
      runs: [
        ['scan', `${url}/99`],
        ['doctor', `${url}/99`],
        ['fix', `${url}/99`, '--match', 'x:*', '--ttl', '1h'],
        ['policy', 'init', `${url}/99`],
        watch(`${url}/99`),
      ],
      message: /database 99 does not exist/,
      json: true,
    },
    {
      what: 'database out of range (-n)',
      runs: [
        ['scan', url, '-n', '99'],
        ['doctor', url, '-n', '99'],
        ['fix', url, '-n', '99', '--match', 'x:*', '--ttl', '1h'],
        ['undo', url, '-n', '99', '--journal', join(dir, 'none.jsonl')],
      ],
      message: /database 99 does not exist|journal .* does not exist/,
    },
    {
      what: 'ACL user without +scan',
      runs: [
        ['scan', noscan],
        ['policy', 'init', noscan],
        ['fix', noscan, '--match', 'x:*', '--ttl', '1h'],
      ],
      message: /may not run SCAN/,
      json: true,
    },
    {
      what: 'bad percent escape in the URL',
      runs: [
        ['scan', 'redis://u:%zz@127.0.0.1:1'],
        ['doctor', 'redis://u:%zz@127.0.0.1:1'],
        ['fix', 'redis://u:%zz@127.0.0.1:1', '--match', 'x:*', '--ttl', '1h'],
        ['undo', 'redis://u:%zz@127.0.0.1:1', '--journal', 'j'],
        ['policy', 'init', 'redis://u:%zz@127.0.0.1:1'],
        watch('redis://u:%zz@127.0.0.1:1'),
      ],
      message: /password in the URL has a malformed percent escape/,
      json: true,
    },
    {
      what: 'connection refused',
      runs: [
        ['scan', refused],
        ['doctor', refused],
        ['fix', refused, '--match', 'x:*', '--ttl', '1h'],
        ['undo', refused, '--journal', 'j'],
        ['policy', 'init', refused],
      ],
      message: /connection refused by redis:\/\/127\.0\.0\.1/,
      json: true,
    },
    {
      what: '--out to a missing directory',
      runs: [
        ['scan', url, '--out', join(dir, 'missing', 'r.json')],
        ['policy', 'init', url, '--out', join(dir, 'missing', 'p.yml')],
      ],
      message: /cannot write --out file .*: no such file or directory/,
      json: true,
    },
    {
      what: '--out to a directory',
      runs: [
        ['scan', url, '--out', dir],
        ['scan', url, '--format', 'html', '--out', dir],
        ['rdb', '{dump}', '--out', dir],
        ['report', 'merge', '{report}', '--out', dir],
      ],
      message: /cannot write --out file .*: it is a directory/,
    },
    {
      what: '--out under /proc',
      runs: [
        ['scan', url, '--out', '/proc/keywarden-report.json'],
        ['policy', 'init', url, '--out', '/proc/keywarden.yml'],
      ],
      message: /cannot write --out file '\/proc\//,
    },
    {
      what: '--journal that is a directory',
      runs: [
        ['fix', url, '--apply', '--match', 'x:*', '--ttl', '1h', '--journal', '{journalDir}'],
        ['undo', url, '--journal', '{journalDir}'],
      ],
      message: /journal .*journal-dir is a directory/,
    },
    {
      what: 'a 10 MB policy',
      runs: [
        ['scan', url, '--policy', '{bigPolicy}'],
        ['doctor', url, '--policy', '{bigPolicy}'],
        ['fix', url, '--apply', '--policy', '{bigPolicy}'],
        watch(url, '--policy', '{bigPolicy}'),
      ],
      message: /policy file .* MiB: larger than/,
      json: true,
    },
    {
      what: 'doctor --config of something that is not a redis.conf',
      runs: [
        ['doctor', '--config', '/dev/urandom'],
        ['doctor', '--config', process.execPath],
        ['doctor', '--config', '{journalDir}'],
      ],
      message: /--config '.*' is (not a regular file|a binary file|[\d.]+ MiB: not a redis.conf)/,
      json: true,
    },
    {
      what: 'not a Redis type',
      runs: [
        ['scan', url, '--type', 'foo'],
        ['rdb', '{dump}', '--type', 'foo'],
      ],
      message: /--type 'foo' is not a Redis type/,
      json: true,
    },
  ];

  const hasJson = (args: string[]) => args[0] !== 'watch';
  const fill = (args: string[]) =>
    args.map((a) => a.replace('{bigPolicy}', bigPolicy).replace('{journalDir}', journalDir).replace('{dump}', dump).replace('{report}', report));

  it('prints one line and a hint, exits 2, and with --json one error document', async () => {
    for (const row of rows()) {
      for (const run of row.runs) {
        const args = fill(run);
        const label = `${row.what}: keywarden ${args.join(' ')}`;
        const r = await runCli(args);
        assert.equal(r.code, 2, `${label}\n${r.stderr}`);
        assertOneErrorLine(r.stderr);
        assert.match(r.stderr.split('\n')[0], row.message, label);
        if (row.json && hasJson(args)) {
          const j = await runCli([...args, '--json']);
          assert.equal(j.code, 2, `${label} --json\n${j.stderr}`);
          assert.doesNotMatch(j.stderr, /\n\s+at |unexpected error/, `${label} --json`);
          const doc = JSON.parse(j.stdout) as { kind: string; message: string; hint: string };
          assert.equal(doc.kind, 'keywarden.error', label);
          assert.match(doc.message, row.message, label);
          assert.ok(doc.hint.length > 0, label);
        }
      }
    }
  });

  it('checks --out before the scan and leaves no file behind', async () => {
    const before = readdirSync(dir).length;
    const admin = server.client({ password: PASS });
    try {
      await admin.config('RESETSTAT');
      const r = await runCli(['scan', url, '--out', join(dir, 'missing', 'r.json')]);
      assert.equal(r.code, 2);
      const stats = (await admin.info('commandstats')) as string;
      assert.doesNotMatch(stats, /cmdstat_(scan|evalsha|eval):/, 'nothing was scanned');
    } finally {
      admin.disconnect();
    }
    assert.equal(readdirSync(dir).length, before, 'no temporary or empty file');
  });

  it('a big policy is refused before fix --apply writes anything', async () => {
    const admin = server.client({ password: PASS });
    try {
      const r = await runCli(['fix', url, '--apply', '--policy', bigPolicy, '--journal', join(dir, 'big.jsonl')]);
      assert.equal(r.code, 2);
      assert.equal(await admin.ttl('session:1'), -1);
      assert.ok(!existsSync(join(dir, 'big.jsonl')), 'no journal file');
    } finally {
      admin.disconnect();
    }
  });

  it('--out to a full disk leaves no empty file', async () => {
    // /dev/full stands for a full disk: the write fails with ENOSPC.
    const r = await runCli(['scan', url, '--out', '/dev/full']);
    assert.equal(r.code, 2);
    assertOneErrorLine(r.stderr);
    assert.match(r.stderr, /no space left on the device/);
  });

  it('--json > /dev/full: one line on stderr, exit 2, no stack', () => {
    const out = openSync('/dev/full', 'w');
    try {
      for (const args of [
        ['scan', url, '--json', '--fast'],
        ['doctor', url, '--json'],
      ]) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
          stdio: ['ignore', out, 'pipe'],
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assertOneErrorLine(r.stderr);
        assert.match(r.stderr, /cannot write to standard output: no space left/);
      }
    } finally {
      closeSync(out);
    }
  });
});
