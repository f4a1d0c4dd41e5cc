// Runs the test files under test/ with Node's test runner (TypeScript through tsx).
// Usage: npm test [-- file-or-substring ...]        every *.test.ts but the shared ones
//        npm run test:shared [-- file-or-substring]  only *.shared.test.ts: they read data in
//                                                    ../shared (the key-naming corpus, RDB dumps),
//                                                    which sits beside CI's clone, not a user's
// Redis-backed files each start their own redis-server processes on free ports, so two
// files may run side by side (the machine has 2 cores); they never touch 127.0.0.1:6379.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
const sharedOnly = args[0] === '--shared';
const filters = sharedOnly ? args.slice(1) : args;
let files = findTests('test')
  .sort()
  .filter((f) => f.endsWith('.shared.test.ts') === sharedOnly);
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(' ')}`);
  process.exit(1);
}

const concurrency = process.env.KEYWARDEN_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-timeout=120000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
