/**
 * Key expressions to globs, and suppressions, per language: table-driven, through the real
 * parsers (oxc-parser and tree-sitter), on one-call snippets.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { lintSource, prepareFrontEnds } from '../../src/lint/index.js';
import { LineIndex, parseSuppression } from '../../src/lint/source.js';

before(async () => prepareFrontEnds(['.py', '.go', '.java', '.rb']));

/** The pattern of the single finding in `source`. */
function patternOf(file: string, source: string): string {
  const { findings, parseError } = lintSource(file, source);
  assert.equal(parseError, undefined, source);
  assert.equal(findings.length, 1, `${source}\n${JSON.stringify(findings, null, 2)}`);
  return findings[0].pattern;
}

const JS: [string, string][] = [
  ["redis.set('session:42', v)", 'session:42'],
  ['redis.set(`session:${id}`, v)', 'session:*'],
  ["redis.set('session:' + id, v)", 'session:*'],
  ["redis.set('a:' + id + ':b', v)", 'a:*:b'],
  ['redis.set(`${PREFIX}${id}:${part}`, v)', 'session:*:*'],
  ['redis.set(KEY, v)', 'session:fixed'],
  ['redis.set(key(id), v)', '*'],
  ["redis.set('weird*[key]?', v)", 'weird\\*\\[key\\]\\?'],
  ['redis.set(`${a}${b}`, v)', '*'],
  ["redis.set('n:' + (20_000_000 + i), v)", 'n:*'],
  ['redis.set(PREFIX + 1, v)', 'session:1'],
];

const PY: [string, string][] = [
  ['redis_client.set("session:42", v)', 'session:42'],
  ['redis_client.set(f"session:{sid}", v)', 'session:*'],
  ['redis_client.set(f"{PREFIX}{sid}", v)', 'session:*'],
  ['redis_client.set("session:" + sid, v)', 'session:*'],
  ['redis_client.set("session:%s:%d" % (a, b), v)', 'session:*:*'],
  ['redis_client.set("session:{}".format(a), v)', 'session:*'],
];

const GO: [string, string][] = [
  ['rdb.HSet(ctx, "session:42", "a", 1)', 'session:42'],
  ['rdb.HSet(ctx, "session:"+id, "a", 1)', 'session:*'],
  ['rdb.HSet(ctx, fmt.Sprintf("session:%s:%d", id, n), "a", 1)', 'session:*:*'],
  ['rdb.HSet(ctx, prefix+id, "a", 1)', 'session:*'],
];

const JAVA: [string, string][] = [
  ['jedis.hset("session:42", "a", "1");', 'session:42'],
  ['jedis.hset("session:" + id, "a", "1");', 'session:*'],
  ['jedis.hset(String.format("session:%s", id), "a", "1");', 'session:*'],
  ['jedis.hset(PREFIX + id, "a", "1");', 'session:*'],
];

const RUBY: [string, string][] = [
  ['redis.hset("session:42", "a", 1)', 'session:42'],
  ['redis.hset("session:#{id}", "a", 1)', 'session:*'],
  ['redis.hset("#{PREFIX}#{id}", "a", 1)', 'session:*'],
  ['redis.hset("session:" + id, "a", 1)', 'session:*'],
];

describe('key expressions become globs', () => {
  for (const [code, glob] of JS)
    it(`js: ${code} → ${glob}`, () => assert.equal(patternOf('a.ts', `const PREFIX = 'session:';\nconst KEY = 'session:fixed';\n${code};\n`), glob));
  for (const [code, glob] of PY) it(`python: ${code} → ${glob}`, () => assert.equal(patternOf('a.py', `PREFIX = "session:"\n${code}\n`), glob));
  for (const [code, glob] of GO)
    it(`go: ${code} → ${glob}`, () => assert.equal(patternOf('a.go', `package a\n\nconst prefix = "session:"\n\nfunc f() {\n\t${code}\n}\n`), glob));
  for (const [code, glob] of JAVA)
    it(`java: ${code} → ${glob}`, () =>
      assert.equal(patternOf('A.java', `class A {\n  static final String PREFIX = "session:";\n  void f() { ${code} }\n}\n`), glob));
  for (const [code, glob] of RUBY) it(`ruby: ${code} → ${glob}`, () => assert.equal(patternOf('a.rb', `PREFIX = "session:"\n${code}\n`), glob));
});

describe('suppressions', () => {
  const span = new LineIndex('x').span(0, 1);
  const cases: [string, { rules: string[]; reason: string } | undefined][] = [
    [' keywarden-ignore-next-line no-ttl -- rebuilt nightly', { rules: ['no-ttl'], reason: 'rebuilt nightly' }],
    [' keywarden-ignore-next-line no-ttl,ttl-zero -- legacy', { rules: ['no-ttl', 'ttl-zero'], reason: 'legacy' }],
    [' keywarden-ignore-next-line no-ttl', { rules: ['no-ttl'], reason: '' }],
    [' keywarden-ignore-next-line no-ttl --   ', { rules: ['no-ttl'], reason: '' }],
    [' an ordinary comment', undefined],
  ];
  for (const [text, want] of cases) {
    it(JSON.stringify(text), () => {
      const got = parseSuppression(text, span);
      assert.deepEqual(got && { rules: got.rules, reason: got.reason }, want);
    });
  }

  it('suppress only the named rule on the next line, in every comment syntax', () => {
    const files: [string, string][] = [
      ['a.ts', "// keywarden-ignore-next-line ttl-zero -- wrong rule\nredis.incr('c');\n/* keywarden-ignore-next-line no-ttl -- ok */\nredis.incr('d');\n"],
      ['a.py', '# keywarden-ignore-next-line ttl-zero -- wrong rule\nredis.incr("c")\n# keywarden-ignore-next-line no-ttl -- ok\nredis.incr("d")\n'],
      ['a.rb', '# keywarden-ignore-next-line ttl-zero -- wrong rule\nredis.incr("c")\n# keywarden-ignore-next-line no-ttl -- ok\nredis.incr("d")\n'],
      [
        'a.go',
        'package a\n\nfunc f() {\n\t// keywarden-ignore-next-line ttl-zero -- wrong rule\n\trdb.Incr(ctx, "c")\n\t/* keywarden-ignore-next-line no-ttl -- ok */\n\trdb.Incr(ctx, "d")\n}\n',
      ],
      [
        'A.java',
        'class A {\n  void f() {\n    // keywarden-ignore-next-line ttl-zero -- wrong rule\n    jedis.incr("c");\n    /* keywarden-ignore-next-line no-ttl -- ok */\n    jedis.incr("d");\n  }\n}\n',
      ],
    ];
    for (const [file, source] of files) {
      const { findings } = lintSource(file, source);
      assert.deepEqual(
        findings.map((f) => [f.rule, f.pattern]),
        [['no-ttl', 'c']],
        file,
      );
    }
  });
});
