/**
 * The ESLint plugin (`keywarden/eslint`) under ESLint's RuleTester, with ESLint's own parser
 * for JavaScript and typescript-eslint's for TypeScript; and the same findings as the CLI on
 * the corpus.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { Linter, RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import plugin from '../../src/lint/eslint.js';
import { lint } from '../../src/lint/index.js';
import { parsePolicy } from '../../src/policy/index.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const js = new RuleTester({ languageOptions: { ecmaVersion: 'latest', sourceType: 'module' } });
const ts = new RuleTester({ languageOptions: { parser: tseslint.parser, sourceType: 'module' } });

const head = "import Redis from 'ioredis';\nconst redis = new Redis();\n";

js.run('keywarden/no-ttl (JavaScript)', plugin.rules!['no-ttl'], {
  valid: [
    `${head}await redis.set('session:1', 'v', 'EX', 60);`,
    `${head}await redis.multi().hset('h', 'a', 1).expire('h', 60).exec();`,
    'const m = new Map(); m.set("a", 1); new Headers().set("a", "b");',
    "import { createClient } from 'redis';\nconst client = createClient();\nawait client.set('k', 'v', { EX: 10 });",
    `${head}// keywarden-ignore-next-line no-ttl -- rebuilt nightly\nawait redis.sadd('idx', 'x');`,
  ],
  invalid: [
    {
      code: `${head}await redis.set(\`session:\${id}\`, 'v');`,
      errors: [
        {
          message:
            'SET creates key session:* without a TTL, and nothing in this function expires it. Fix: give the SET its TTL in the same call: SET `session:${id}` … EX <seconds>',
          line: 3,
          column: 13,
        },
      ],
    },
    {
      code: "import { createClient } from 'redis';\nconst client = createClient();\nawait client.hSet('cart:1', { a: '1' });",
      errors: [{ message: /HSET creates key cart:1 without a TTL/ }],
    },
    {
      code: `${head}// keywarden-ignore-next-line no-ttl\nawait redis.sadd('idx', 'x');`,
      errors: [
        { message: /has no reason/, line: 3 },
        { message: /SADD creates key idx/, line: 4 },
      ],
    },
  ],
});

js.run('keywarden/non-atomic-expire', plugin.rules!['non-atomic-expire'], {
  valid: [`${head}await redis.multi().incr('c').expire('c', 60).exec();`],
  invalid: [
    { code: `${head}await redis.incr('c');\nawait redis.expire('c', 60);`, errors: [{ message: /INCR and its EXPIRE on c are separate round trips/ }] },
  ],
});

js.run('keywarden/ttl-zero', plugin.rules!['ttl-zero'], {
  valid: ["import Keyv from 'keyv';\nconst keyv = new Keyv();\nawait keyv.set('k', 'v', 1000);"],
  invalid: [{ code: "import Keyv from 'keyv';\nconst keyv = new Keyv();\nawait keyv.set('k', 'v', 0);", errors: [{ message: /never expires/ }] }],
});

ts.run('keywarden/no-ttl (TypeScript)', plugin.rules!['no-ttl'], {
  valid: [
    'import type { Redis } from "ioredis";\nclass S { constructor(private redis: Redis) {}\n async f(id: string) { await this.redis.set(`s:${id}`, "1", "EX", 5); } }',
  ],
  invalid: [
    {
      code: 'import type { Redis } from "ioredis";\nclass S { constructor(private redis: Redis) {}\n async f(id: string) { await this.redis.set(`s:${id}`, "1"); } }',
      errors: [{ message: /SET creates key s:\* without a TTL/, line: 3 }],
    },
  ],
});

test('the plugin reports exactly what the CLI reports on the JS/TS corpus', async () => {
  const dir = 'test/lint/corpus/js';
  const policyFile = 'test/lint/corpus/keywarden.yml';
  const rules: Linter.RulesRecord = Object.fromEntries(
    ['no-ttl', 'non-atomic-expire', 'ttl-zero'].map((r) => [`keywarden/${r}`, ['error', { policy: policyFile }]]),
  );
  const linter = new Linter({ configType: 'flat' });
  const config: Linter.Config[] = [
    { files: ['**/*.js'], plugins: { keywarden: plugin }, rules },
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { keywarden: plugin }, rules },
  ];
  const fromEslint: string[] = [];
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    for (const m of linter.verify(readFileSync(file, 'utf8'), config, { filename: file })) {
      assert.equal(m.fatal, undefined, m.message);
      fromEslint.push(`${file}:${m.line}:${m.column} ${m.message}`);
    }
  }
  const { report } = await lint({ paths: [dir], policy: parsePolicy(readFileSync(policyFile, 'utf8'), policyFile) });
  const fromCli = report.findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.message}. Fix: ${f.fix}`);
  assert.ok(fromCli.length >= 20);
  assert.deepEqual(fromEslint.sort(), fromCli.sort());
});
