// Runs the test files under test/ with Node's test runner (TypeScript through tsx).
// Usage: npm test [-- file-or-substring ...]        every *.test.ts but the shared ones
//        npm run test:unit [-- file-or-substring]    only *.unit.test.ts: pure functions, no
//                                                    redis-server, no browser; seconds
//        npm run test:shared [-- file-or-substring]  only *.shared.test.ts: they read data in
//                                                    ../shared (the key-naming corpus, RDB dumps),
//                                                    which sits beside CI's clone, not a user's
// Redis-backed files each start their own redis-server processes on free ports, so two
// files may run side by side (the machine has 2 cores); they never touch 127.0.0.1:6379.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const mode = args[0] === '--shared' || args[0] === '--unit' ? args[0] : undefined;
const filters = mode ? args.slice(1) : args;
const selected =
  {
    '--shared': (f) => f.endsWith('.shared.test.ts'),
    '--unit': (f) => f.endsWith('.unit.test.ts'),
  }[mode] ?? ((f) => !f.endsWith('.shared.test.ts'));
let files = findTests('test').sort().filter(selected);
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(' ')}`);
  process.exit(1);
}

// Unit files start no server and share no state: they run in one process, which loads tsx
// and the modules under test once (a process per file spent most of the time starting up).
const unit = mode === '--unit' && files.length > 1;
const concurrency = process.env.KEYWARDEN_TEST_CONCURRENCY ?? '2';
const result = unit
  ? spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test-reporter=spec',
        '--input-type=module',
        '-e',
        files.map((f) => `await import(${JSON.stringify(pathToFileURL(f).href)});`).join('\n'),
      ],
      { stdio: 'inherit' },
    )
  : spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-timeout=120000', ...files], {
      stdio: 'inherit',
    });
process.exit(result.status ?? 1);
