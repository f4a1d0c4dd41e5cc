/**
 * bench:lint — `keywarden lint` throughput against ESLint running only `keywarden/no-ttl` on
 * the same JS/TS files, in the same run; `--staged` on a one-file change of a generated
 * 100k-line repository; and the corpus's precision and recall. See bench/README.md.
 *
 * Both linters run as child processes from the compiled tree (`dist/`), start-up included,
 * alternating, BENCH_ROUNDS times (default 3); the best round of each is compared.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { scoreCorpus, scoreTable } from '../test/lint/corpus-score.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'keywarden.js');
const ESLINT = join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_LINES = Number(process.env.BENCH_LINES ?? 300_000);
const EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Real JS/TS from this project's node_modules, copied (outside git) until TARGET_LINES. */
function copyRealTree(dest: string): { files: number; lines: number } {
  const sources: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
      else if (e.isFile() && EXTENSIONS.has(extname(e.name)) && !/\.d\.[cm]?ts$|\.min\.js$/.test(e.name) && statSync(p).size < 200_000) sources.push(p);
    }
  };
  walk(join(ROOT, 'node_modules'));
  sources.sort();
  let lines = 0;
  let files = 0;
  for (const src of sources) {
    if (lines >= TARGET_LINES) break;
    const text = readFileSync(src, 'utf8');
    // Keep the file names unique, out of any `node_modules` directory (both tools skip those)
    // and out of directories keywarden skips as build output (`dist`, `build`, …): both tools read every file.
    const rel = relative(join(ROOT, 'node_modules'), src)
      .split('/')
      .map((part, i, all) => (i < all.length - 1 ? `${part}_` : part))
      .join('/');
    const to = join(dest, rel);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(src, to);
    lines += text.split('\n').length;
    files++;
  }
  return { files, lines };
}

function eslintConfig(dir: string): string {
  const file = join(dir, 'eslint.config.mjs');
  const plugin = join(ROOT, 'dist', 'lint', 'eslint.js');
  const tsParser = join(ROOT, 'node_modules', '@typescript-eslint', 'parser', 'dist', 'index.js');
  writeFileSync(
    file,
    `import keywarden from ${JSON.stringify(plugin)};\nimport * as tsParser from ${JSON.stringify(tsParser)};\n` +
      `export default [\n  { files: ['**/*.{js,mjs,cjs}'], languageOptions: { sourceType: 'module' }, linterOptions: { reportUnusedDisableDirectives: 'off' }, plugins: { keywarden }, rules: { 'keywarden/no-ttl': 'error' } },\n` +
      `  { files: ['**/*.{ts,mts,cts}'], languageOptions: { parser: tsParser }, linterOptions: { reportUnusedDisableDirectives: 'off' }, plugins: { keywarden }, rules: { 'keywarden/no-ttl': 'error' } },\n];\n`,
  );
  return file;
}

function timed(cmd: string, args: string[], cwd: string): { ms: number; stdout: string } {
  const started = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = performance.now() - started;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return { ms, stdout: r.stdout };
}

/** A generated application of `lines` lines: services writing Redis keys, some with TTLs. */
function generateRepo(dir: string, lines: number): string[] {
  const files: string[] = [];
  const perFile = 500;
  for (let i = 0; lines > 0; i++, lines -= perFile) {
    let text = `import Redis from 'ioredis';\nconst redis = new Redis();\n`;
    while (text.split('\n').length < perFile) {
      const n = text.length;
      text += `export async function handler${n}(id: string, body: string): Promise<string | null> {\n  const key = \`svc${i}:\${id}\`;\n  await redis.set(key, body, 'EX', 3600);\n  const m = new Map<string, string>();\n  m.set(key, body);\n  return redis.get(key);\n}\n`;
    }
    const rel = join('src', `module${Math.floor(i / 20)}`, `service${i}.ts`);
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
    files.push(rel);
  }
  return files;
}

/** The corpus files of each tree-sitter language, repeated until `lines` lines per language. */
function generateMultiLanguage(dir: string, lines: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const lang of ['python', 'go', 'java', 'ruby']) {
    const src = join(ROOT, 'test', 'lint', 'corpus', lang);
    const files = readdirSync(src).map((f) => ({ name: f, text: readFileSync(join(src, f), 'utf8') }));
    let written = 0;
    for (let i = 0; written < lines; i++) {
      const f = files[i % files.length];
      mkdirSync(join(dir, lang, `pkg${Math.floor(i / 50)}`), { recursive: true });
      writeFileSync(join(dir, lang, `pkg${Math.floor(i / 50)}`, `${i}-${f.name}`), f.text);
      written += f.text.split('\n').length;
    }
    out.set(extname(files[0].name), written);
  }
  return out;
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=bench@example.com', '-c', 'user.name=bench', '-c', 'commit.gpgsign=false', ...args], { cwd, stdio: 'ignore' });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'keywarden-bench-lint-'));
  try {
    console.log(`bench:lint on ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}; load average at start ${load()}`);
    const tree = join(work, 'tree');
    const { files, lines } = copyRealTree(tree);
    console.log(`JS/TS tree: ${files} files, ${lines.toLocaleString('en-US')} lines from this project's node_modules`);
    const config = eslintConfig(work);
    let bestCli = Infinity;
    let bestEslint = Infinity;
    let cliFiles = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const cli = timed(process.execPath, [CLI, 'lint', '--json', tree], work);
      cliFiles = (JSON.parse(cli.stdout) as { filesScanned: number }).filesScanned;
      const eslint = timed(process.execPath, [ESLINT, '--no-warn-ignored', '--config', config, '--format', 'json', tree], work);
      bestCli = Math.min(bestCli, cli.ms);
      bestEslint = Math.min(bestEslint, eslint.ms);
      console.log(`  round ${round + 1}: keywarden lint ${cli.ms.toFixed(0)} ms, eslint (keywarden/no-ttl only) ${eslint.ms.toFixed(0)} ms; load ${load()}`);
    }
    const rate = (ms: number) => Math.round(lines / (ms / 1000)).toLocaleString('en-US');
    if (cliFiles !== files) throw new Error(`keywarden lint read ${cliFiles} files of ${files}`);
    console.log(
      `keywarden lint: ${rate(bestCli)} lines/s (${cliFiles} files); eslint + keywarden/no-ttl: ${rate(bestEslint)} lines/s; ratio ${(bestEslint / bestCli).toFixed(2)}× (target >= 3×)`,
    );

    const multi = join(work, 'multi');
    const perLanguage = generateMultiLanguage(multi, Number(process.env.BENCH_MULTI_LINES ?? 50_000));
    let bestMulti = Infinity;
    for (let round = 0; round < ROUNDS; round++) bestMulti = Math.min(bestMulti, timed(process.execPath, [CLI, 'lint', '--json', multi], work).ms);
    const multiLines = [...perLanguage.values()].reduce((a, b) => a + b, 0);
    console.log(
      `generated multi-language tree (${[...perLanguage].map(([ext, n]) => `${ext} ${n.toLocaleString('en-US')}`).join(', ')} lines): ` +
        `keywarden lint ${Math.round(multiLines / (bestMulti / 1000)).toLocaleString('en-US')} lines/s (${bestMulti.toFixed(0)} ms)`,
    );

    const repo = join(work, 'repo');
    const generated = generateRepo(repo, 100_000);
    git(repo, 'init', '-q');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'base');
    const target = join(repo, generated[Math.floor(generated.length / 2)]);
    writeFileSync(target, `${readFileSync(target, 'utf8')}export async function leak(id: string) {\n  await redis.sadd(\`tags:\${id}\`, 'x');\n}\n`);
    git(repo, 'add', '.');
    let bestStaged = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      const r = timed(process.execPath, [CLI, 'lint', '--staged', '--json'], repo);
      const report = JSON.parse(r.stdout) as { findings: unknown[]; filesScanned: number };
      if (report.findings.length !== 1) throw new Error(`--staged found ${report.findings.length} findings, expected 1`);
      bestStaged = Math.min(bestStaged, r.ms);
    }
    console.log(
      `--staged on a one-file change of a ${generated.length}-file, 100,000-line repo: ${bestStaged.toFixed(0)} ms (target < 1000 ms), Node start-up included`,
    );

    process.chdir(ROOT);
    const { scores } = await scoreCorpus();
    console.log(`corpus precision/recall:\n${scoreTable(scores)}`);
    console.log(`load average at end ${load()}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
