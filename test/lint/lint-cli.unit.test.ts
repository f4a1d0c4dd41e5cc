/**
 * `keywarden lint` from the command line: output formats, exit codes, which files it reads
 * (.gitignore, dependency directories, symbolic links) and --staged, on real files in
 * temporary directories and git repositories.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { assertOneErrorLine, runCli } from '../support/cli.js';

const LEAK = `import Redis from 'ioredis';\nconst redis = new Redis();\nexport async function f(id: string) {\n  await redis.set(\`session:\${id}\`, '1');\n}\n`;
const CLEAN = `import Redis from 'ioredis';\nconst redis = new Redis();\nexport async function f(id: string) {\n  await redis.set(\`session:\${id}\`, '1', 'EX', 60);\n}\n`;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'keywarden-lint-'));
}

function write(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', ...args], { cwd, stdio: 'pipe' }).toString();

/** Run the CLI with `cwd` as the working directory. */
async function inDir(cwd: string, args: string[]) {
  const before = process.cwd();
  process.chdir(cwd);
  try {
    return await runCli(args);
  } finally {
    process.chdir(before);
  }
}

test('text: file:line:col rule message, a code frame and the fix; exit 1 on findings, 0 when clean', async () => {
  const dir = tempDir();
  try {
    write(dir, 'leak.ts', LEAK);
    const leak = await inDir(dir, ['lint', 'leak.ts']);
    assert.equal(leak.code, 1);
    assert.match(leak.stdout, /^leak\.ts:4:15 no-ttl SET creates key session:\* without a TTL.*\[ioredis\]$/m);
    assert.match(leak.stdout, /> 4 \| {3}await redis\.set\(`session:\$\{id\}`, '1'\);\n\s+\| {15}\^+\n/);
    assert.match(leak.stdout, /fix: give the SET its TTL in the same call: SET `session:\$\{id\}` … EX/);
    write(dir, 'leak.ts', CLEAN);
    const clean = await inDir(dir, ['lint']);
    assert.equal(clean.code, 0);
    assert.match(clean.stdout, /no findings in 1 file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: exit 2 with one line and a hint', async () => {
  const dir = tempDir();
  try {
    for (const args of [
      ['lint', 'missing-dir'],
      ['lint', '--format', 'xml'],
      ['lint', '--policy', 'nope.yml'],
    ]) {
      const r = await inDir(dir, args);
      assert.equal(r.code, 2, args.join(' '));
      assertOneErrorLine(r.stderr);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--json: one keywarden.lint document with the documented fields', async () => {
  const dir = tempDir();
  try {
    write(dir, 'src/leak.ts', LEAK);
    const r = await inDir(dir, ['lint', '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout);
    assert.equal(report.kind, 'keywarden.lint');
    assert.equal(report.schemaVersion, 1);
    assert.equal(report.filesScanned, 1);
    assert.equal(typeof report.durationMs, 'number');
    assert.deepEqual(report.findings, [
      {
        file: join('src', 'leak.ts'),
        line: 4,
        column: 15,
        endLine: 4,
        endColumn: 40,
        rule: 'no-ttl',
        language: 'typescript',
        client: 'ioredis',
        key: '`session:${id}`',
        pattern: 'session:*',
        message: 'SET creates key session:* without a TTL, and nothing in this function expires it',
        fix: 'give the SET its TTL in the same call: SET `session:${id}` … EX <seconds>',
      },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--policy: durable keys are fine, and the fix proposes the rule’s ttl', async () => {
  const dir = tempDir();
  try {
    write(dir, 'a.ts', `${LEAK}export async function g(id: string) {\n  await redis.hset(\`user:\${id}:profile\`, 'a', '1');\n}\n`);
    write(dir, 'keywarden.yml', 'rules:\n  - match: "session:*"\n    ttl: 24h\n  - match: "user:*:profile"\n    role: durable\n');
    const r = await inDir(dir, ['lint', '--json', '--policy', 'keywarden.yml']);
    const report = JSON.parse(r.stdout);
    assert.equal(report.findings.length, 1);
    assert.equal(report.findings[0].pattern, 'session:*');
    assert.match(report.findings[0].fix, /EX 86400 \(policy rule 'session:\*'\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--format sarif validates against the SARIF 2.1.0 schema', async () => {
  const dir = tempDir();
  try {
    write(dir, 'src/leak.ts', LEAK);
    write(dir, 'src/bad.js', "// keywarden-ignore-next-line no-ttl\nredis.incr('x');\n");
    const r = await inDir(dir, ['lint', '--format', 'sarif']);
    assert.equal(r.code, 1);
    const log = JSON.parse(r.stdout);
    const require = createRequire(import.meta.url);
    const Ajv = require('ajv');
    const ajv = new Ajv({ schemaId: 'id', allErrors: true, logger: false });
    ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json'));
    const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
    const valid = ajv.validate(schema, log);
    assert.ok(valid, JSON.stringify(ajv.errors, null, 2));
    assert.equal(log.version, '2.1.0');
    const results = log.runs[0].results as {
      ruleId: string;
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
    }[];
    assert.deepEqual(
      results.map((x) => [x.ruleId, x.locations[0].physicalLocation.artifactLocation.uri, x.locations[0].physicalLocation.region.startLine]),
      [
        ['suppression-without-reason', 'src/bad.js', 1],
        ['no-ttl', 'src/bad.js', 2],
        ['no-ttl', 'src/leak.ts', 4],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('files: .gitignore and dependency directories are skipped, symbolic links are not followed', async () => {
  const dir = tempDir();
  const outside = tempDir();
  try {
    git(dir, 'init', '-q');
    write(dir, '.gitignore', 'generated/\n');
    write(dir, 'src/leak.ts', LEAK);
    write(dir, 'generated/leak.ts', LEAK);
    write(dir, 'node_modules/pkg/leak.js', LEAK);
    write(dir, 'vendor/leak.js', LEAK);
    write(outside, 'leak.ts', LEAK);
    symlinkSync(outside, join(dir, 'linked-dir'));
    symlinkSync(join(outside, 'leak.ts'), join(dir, 'linked.ts'));
    const inGit = JSON.parse((await inDir(dir, ['lint', '--json'])).stdout);
    assert.deepEqual(
      inGit.findings.map((f: { file: string }) => f.file),
      [join('src', 'leak.ts')],
    );
    rmSync(join(dir, '.git'), { recursive: true });
    // Outside git the tree is walked: dependency directories and links are still skipped.
    const walked = JSON.parse((await inDir(dir, ['lint', '--json'])).stdout);
    assert.deepEqual(walked.findings.map((f: { file: string }) => f.file).sort(), [join('generated', 'leak.ts'), join('src', 'leak.ts')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test('--staged: only staged files and changed lines, read from the index', async () => {
  const dir = tempDir();
  try {
    git(dir, 'init', '-q');
    write(dir, 'old.ts', LEAK);
    write(dir, 'other.ts', LEAK);
    git(dir, 'add', '.');
    git(dir, 'commit', '-qm', 'base');
    // A new leak on a new line of old.ts, staged; an unstaged leak in other.ts is not linted.
    write(dir, 'old.ts', `${LEAK}export async function g(id: string) {\n  await redis.sadd(\`tags:\${id}\`, 'x');\n}\n`);
    git(dir, 'add', 'old.ts');
    write(dir, 'other.ts', `${LEAK}redis.incr('c');\n`);
    const r = await inDir(dir, ['lint', '--staged', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.filesScanned, 1);
    assert.deepEqual(
      report.findings.map((f: { file: string; line: number; rule: string }) => [f.file, f.line, f.rule]),
      [['old.ts', 7, 'no-ttl']],
    );
    // The staged version is linted, not the working tree: fix the file without staging it.
    write(dir, 'old.ts', LEAK);
    assert.equal((await inDir(dir, ['lint', '--staged'])).code, 1);
    git(dir, 'add', 'old.ts');
    assert.equal((await inDir(dir, ['lint', '--staged'])).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--staged outside a git work tree is bad input', async () => {
  const dir = tempDir();
  try {
    const r = await inDir(dir, ['lint', '--staged']);
    assert.equal(r.code, 2);
    assertOneErrorLine(r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that does not parse is listed as not analysed, and hostile text is escaped', async () => {
  const dir = tempDir();
  try {
    write(dir, 'broken.ts', 'const = ;\n');
    write(dir, 'evil.js', "redis.set('\\u001b[31mred', 1); // \u001b]0;title\u0007\n");
    const r = await inDir(dir, ['lint']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /broken\.ts: not analysed, it does not parse/);
    assert.ok(!r.stdout.includes('\u001b'), 'no escape character reaches the terminal');
    const json = JSON.parse((await inDir(dir, ['lint', '--json'])).stdout);
    assert.deepEqual(
      json.filesSkipped.map((s: { file: string }) => s.file),
      ['broken.ts'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Python, Go, Java and Ruby through the CLI: findings name language and client; syntax errors are listed', async () => {
  const dir = tempDir();
  try {
    write(dir, 'app.py', 'import redis\nr = redis.Redis()\n\ndef f(k):\n    # keywarden-ignore-next-line no-ttl\n    r.hset(f"h:{k}", "a", 1)\n');
    write(dir, 'main.go', 'package main\n\nfunc f(ctx context.Context, rdb *redis.Client) {\n\trdb.Set(ctx, "k", 1, 0)\n}\n');
    write(dir, 'App.java', 'class App {\n  void f(redis.clients.jedis.Jedis jedis) {\n    jedis.sadd("s", "x");\n  }\n}\n');
    write(dir, 'app.rb', 'redis = Redis.new\nredis.incr("c")\n');
    write(dir, 'broken.py', 'def f(:\n');
    const r = await inDir(dir, ['lint', '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(
      report.findings.map((f: { file: string; line: number; rule: string; language: string; client: string; pattern: string }) => [
        f.file,
        f.line,
        f.rule,
        f.language,
        f.client,
        f.pattern,
      ]),
      [
        ['App.java', 3, 'no-ttl', 'java', 'jedis', 's'],
        ['app.py', 5, 'suppression-without-reason', 'python', '', ''],
        ['app.py', 6, 'no-ttl', 'python', 'redis-py', 'h:*'],
        ['app.rb', 2, 'no-ttl', 'ruby', 'redis-rb', 'c'],
        ['main.go', 4, 'ttl-zero', 'go', 'go-redis', 'k'],
      ],
    );
    assert.deepEqual(
      report.filesSkipped.map((s: { file: string }) => s.file),
      ['broken.py'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('.pre-commit-hooks.yaml runs lint --staged on every supported language', async () => {
  const { parse } = await import('yaml');
  const hooks = parse(readFileSync('.pre-commit-hooks.yaml', 'utf8')) as {
    id: string;
    entry: string;
    language: string;
    pass_filenames: boolean;
    types_or: string[];
  }[];
  assert.equal(hooks.length, 1);
  assert.equal(hooks[0].id, 'keywarden-lint');
  assert.equal(hooks[0].entry, 'keywarden lint --staged');
  assert.equal(hooks[0].language, 'node');
  assert.equal(hooks[0].pass_filenames, false);
  assert.deepEqual(hooks[0].types_or, ['javascript', 'jsx', 'ts', 'tsx', 'python', 'go', 'java', 'ruby']);
});
