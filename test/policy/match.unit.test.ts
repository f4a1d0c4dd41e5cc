import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileGlob, createMatcher, parsePolicy, policyFromObject, ttlForRule, type Policy, type PolicyRule } from '../../src/policy/index.js';

const policyOf = (rules: [string, string?][]): Policy =>
  policyFromObject({ rules: rules.map(([match, role]) => (role === 'durable' ? { match, role } : { match, ttl: 60 })) });

/** The definition of first-match-wins, without any index. */
const naive = (policy: Policy, key: Buffer | string): PolicyRule | undefined => policy.rules.find((r) => compileGlob(r.match)(key));

describe('createMatcher: first match wins', () => {
  const few = policyOf([['session:admin:*', 'durable'], ['session:*'], ['*']]);
  // Enough rules to use the prefix trie, with shared prefixes, a catch-all in the middle and wildcard-first rules.
  const many = policyOf([
    ['session:admin:*', 'durable'],
    ['session:*'],
    ['sess:*'],
    ['cache:user:*'],
    ['cache:*'],
    ['*:profile', 'durable'],
    ['user:[0-9]*'],
    ['rate:?'],
    ['lit'],
    ['lit\\*'],
    ['*'],
    ['never:*'],
  ]);

  const CASES: [Policy, string, number | undefined][] = [
    [few, 'session:admin:1', 0],
    [few, 'session:42', 1],
    [few, 'other', 2],
    [few, '', 2],
    [many, 'session:admin:1', 0],
    [many, 'session:1', 1],
    [many, 'sess:1', 2],
    [many, 'sessions', 10],
    [many, 'cache:user:1', 3],
    [many, 'cache:page:1', 4],
    [many, 'cache:profile', 4], // rule 4 comes before the '*:profile' rule
    [many, 'user:1:profile', 5],
    [many, 'user:1', 6],
    [many, 'rate:a', 7],
    [many, 'lit', 8],
    [many, 'lit*', 9],
    [many, 'never:1', 10], // shadowed by '*'
    [many, '', 10],
  ];
  for (const [policy, key, index] of CASES) {
    test(`${policy.rules.length} rules: ${JSON.stringify(key)} → rule ${index}`, () => {
      const matcher = createMatcher(policy);
      assert.equal(matcher.match(key)?.index, index);
      assert.equal(matcher.match(Buffer.from(key))?.index, index);
    });
  }

  test('no rule matches → undefined', () => {
    const policy = policyOf([['a:*'], ['b:*'], ['c:*'], ['d:*'], ['e:*'], ['f:*']]);
    assert.equal(createMatcher(policy).match('z:1'), undefined);
    assert.equal(createMatcher(policyOf([])).match('z:1'), undefined);
  });

  test('binary keys and rules', () => {
    const policy = policyOf([['\xff*'], ['bin:\x00*'], ['a:*'], ['b:*'], ['c:*']]);
    const matcher = createMatcher(policy);
    assert.equal(matcher.match(Buffer.from([0x62, 0x69, 0x6e, 0x3a, 0x00, 0x01]))?.index, 1);
    assert.equal(matcher.match(Buffer.from([0xc3, 0xbf, 0x01]))?.index, 0); // '\xff' in a string glob is U+00FF, UTF-8 c3 bf
    assert.equal(matcher.match(Buffer.from([0xff]))?.index, undefined);
  });

  test('property: the indexed matcher agrees with a linear scan of the rules', () => {
    const piece = fc.constantFrom('a', 'b', ':', '*', '?', '[ab]', '\\*', 'ab', 'ba:', 'é');
    const glob = fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join(''));
    const key = fc.array(fc.constantFrom('a', 'b', ':', '*', 'c', 'é', '😀'), { maxLength: 6 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.array(glob, { minLength: 1, maxLength: 12 }), fc.array(key, { maxLength: 20 }), (globs, keys) => {
        const policy = policyOf(globs.map((g) => [g]));
        const matcher = createMatcher(policy);
        for (const k of keys) {
          const expected = naive(policy, k);
          assert.equal(matcher.match(k), expected, `${JSON.stringify(globs)} ${JSON.stringify(k)}`);
          assert.equal(matcher.match(Buffer.from(k)), expected, `${JSON.stringify(globs)} Buffer ${JSON.stringify(k)}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('property: the short-list matcher (first-byte filter, prefix ranges) agrees with the rules, for every kind of string key', () => {
    const piece = fc.constantFrom('a', 'b', ':', '*', '?', '[ab]', '\\*', 'ab', 'ba:', 'é', '\x7f');
    const glob = fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join(''));
    const key = fc.array(fc.constantFrom('a', 'b', ':', '*', 'c', 'é', '😀', '\x7f', '\x80', '\ud800'), { maxLength: 6 }).map((p) => p.join(''));
    // V8 keeps strings flat, concatenated or sliced; the matcher must not depend on which.
    const shapes = (k: string): string[] => [k, `${k.slice(0, 1)}${k.slice(1)}xxxxxxxxxxxxxxxx`.slice(0, k.length), `${'y'.repeat(20)}${k}`.slice(20)];
    fc.assert(
      fc.property(fc.array(glob, { minLength: 1, maxLength: 4 }), fc.array(key, { maxLength: 20 }), (globs, keys) => {
        const policy = policyOf(globs.map((g) => [g]));
        const matcher = createMatcher(policy);
        for (const k of keys) {
          const expected = naive(policy, k);
          for (const shaped of shapes(k)) assert.equal(matcher.match(shaped), expected, `${JSON.stringify(globs)} ${JSON.stringify(k)}`);
          assert.equal(matcher.match(Buffer.from(k)), expected, `${JSON.stringify(globs)} Buffer ${JSON.stringify(k)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ttlForRule', () => {
  const policy = parsePolicy(`rules:
  - match: "s:*"
    ttl: 24h
  - match: "c:*"
    ttl: 1h
    jitter: 10%
  - match: "u:*"
    role: durable
  - match: "t:*"
    ttl: 1s
    jitter: 50%
`);
  const [plain, jittered, durable, tiny] = policy.rules;

  test('no jitter → the ttl', () => {
    assert.equal(ttlForRule(plain), 86_400_000);
    assert.equal(
      ttlForRule(plain, () => 0.99),
      86_400_000,
    );
  });

  test('durable → undefined', () => {
    assert.equal(ttlForRule(durable), undefined);
  });

  test('jitter only shortens: (ttl × (1 − j), ttl]', () => {
    assert.equal(
      ttlForRule(jittered, () => 0),
      3_600_000,
    );
    assert.equal(
      ttlForRule(jittered, () => 0.5),
      3_420_000,
    );
    assert.equal(
      ttlForRule(jittered, () => 0.999999),
      3_240_000,
    ); // rounds to the bound, never below it
    for (let i = 0; i < 2000; i++) {
      const ttl = ttlForRule(jittered)!;
      assert.ok(ttl >= 3_240_000 && ttl <= 3_600_000, String(ttl));
      assert.ok(Number.isInteger(ttl));
    }
  });

  test('jitter spreads values (not a constant)', () => {
    const seen = new Set(Array.from({ length: 200 }, () => ttlForRule(jittered)));
    assert.ok(seen.size > 150, `only ${seen.size} distinct TTLs`);
  });

  test('never below 1s', () => {
    assert.equal(
      ttlForRule(tiny, () => 0.9),
      1000,
    );
    assert.equal(
      ttlForRule({ index: 0, match: 'x', ttlMs: 1200, jitter: 0.9 }, () => 0.99),
      1000,
    );
  });
});
