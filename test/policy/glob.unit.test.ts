import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileGlob, escapeGlob, globPrefix, isLiteralGlob } from '../../src/policy/glob.js';
import { scanMatches } from './stringmatchlen.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

// [glob, key, matches]. Globs and keys are latin1 here so any byte can be written as \xNN.
const CASES: [string, string, boolean][] = [
  // '*'
  ['*', 'anything', true],
  ['*', '', true], // SCAN/KEYS bypass matching for the glob '*'
  ['**', '', false], // ...but stringmatchlen never matches the empty key
  ['**', 'x', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ba', false],
  ['*a', 'bba', true],
  ['*a', 'ab', false],
  ['a*b', 'ab', true],
  ['a*b', 'axxb', true],
  ['a*b', 'axxbc', false],
  ['a*b*c', 'abbbc', true],
  ['a*b*c', 'acb', false],
  ['*:*', 'user:1', true],
  ['user:*:profile', 'user:42:profile', true],
  ['user:*:profile', 'user::profile', true],
  ['user:*:profile', 'user:42:profile:x', false],
  ['user:*:profile', 'user:profile', false],
  // '?'
  ['?', 'a', true],
  ['?', '', false],
  ['?', 'ab', false],
  ['a?c', 'abc', true],
  ['??', '\xc3\xa9', true], // one UTF-8 'é' is two bytes
  // classes and ranges
  ['[abc]', 'b', true],
  ['[abc]', 'd', false],
  ['[a-c]x', 'bx', true],
  ['[a-c]x', 'dx', false],
  ['[z-a]', 'm', true], // reversed range is swapped
  ['[^a]', 'b', true],
  ['[^a]', 'a', false],
  ['[^a-c]', 'd', true],
  ['[^a-c]', 'b', false],
  ['[]', 'a', false], // empty class
  ['[]a]', 'a]', false], // '[]' is empty, so nothing gets past it
  ['[', 'a', false], // unterminated, empty
  ['[^', 'a', true], // unterminated, negated empty: any byte
  ['[ab', 'b', true], // unterminated class runs to the end
  ['[a-]', ']', true], // 'a-]' is a range from ']' (0x5d) to 'a' (0x61)
  ['[a-]', '_', true],
  ['[a-]', '-', false],
  ['[-a]', '-', true],
  ['[\\]]', ']', true],
  ['[\\-]', '-', true],
  ['[\\^]', '^', true],
  ['[*?]', '*', true],
  ['[*?]', 'a', false],
  // escapes
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'axb', false],
  ['\\?', '?', true],
  ['\\?', 'a', false],
  ['\\[a]', '[a]', true],
  ['\\a', 'a', true],
  ['\\', '\\', true], // trailing backslash is a literal backslash
  ['a\\', 'a\\', true],
  ['a\\', 'a', false],
  ['[a\\', '\\', true],
  // binary bytes
  ['\x00*', '\x00abc', true],
  ['a\x00b', 'a\x00b', true],
  ['a?b', 'a\x00b', true],
  ['\xff*', '\xff\xfe', true],
  ['[\x80-\xff]', '\x90', true],
  ['[a-\xff]', 'b', false], // signed char: 0xff is -1, so the range is -1..97
  ['[a-\xff]', '\xff', true],
  ['[a-\xff]', '\x80', false],
  ['[a-\xff]', '\x00', true],
  // empty key / empty glob
  ['', '', true],
  ['', 'a', false],
  ['a', '', false],
  ['[^a]', '', false],
];

describe('compileGlob: Redis stringmatchlen semantics', () => {
  for (const [glob, key, expected] of CASES) {
    test(`${JSON.stringify(glob)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(key)}`, () => {
      assert.equal(compileGlob(b(glob))(b(key)), expected);
      // The oracle (a literal port of the C) agrees with the table, so the table is Redis's.
      assert.equal(scanMatches(b(glob), b(key)), expected);
    });
  }

  test('string keys are matched as UTF-8 bytes, same as Buffer keys', () => {
    const cases: [string, string][] = [
      ['café:*', 'café:1'],
      ['caf?:*', 'café:1'],
      ['caf??:*', 'café:1'],
      ['*é', 'xé'],
      ['a*', 'a😀'],
      ['ab*ba', 'aba'],
      ['ab*ba', 'abba'],
    ];
    for (const [glob, key] of cases) {
      const m = compileGlob(glob);
      assert.equal(m(key), m(Buffer.from(key, 'utf8')), `${glob} vs ${key}`);
    }
    assert.equal(compileGlob('caf?:*')('café:1'), false);
    assert.equal(compileGlob('caf??:*')('café:1'), true);
    assert.equal(compileGlob('ab*ba')('aba'), false);
  });

  // Bytes that exercise every branch: glob metacharacters, letters around ranges, NUL, high bytes.
  const ALPHABET = [0x2a, 0x3f, 0x5b, 0x5d, 0x5e, 0x5c, 0x2d, 0x61, 0x62, 0x63, 0x7a, 0x00, 0x80, 0xff];
  const bytesFrom = (max: number) => fc.array(fc.constantFrom(...ALPHABET), { maxLength: max }).map((a) => Buffer.from(a));

  test('property: agrees with the stringmatchlen port on arbitrary globs and keys', () => {
    fc.assert(
      fc.property(bytesFrom(8), bytesFrom(8), (glob, key) => {
        assert.equal(compileGlob(glob)(key), scanMatches(glob, key), `glob ${glob.toString('hex')} key ${key.toString('hex')}`);
      }),
      { numRuns: 20_000 },
    );
  });

  test('property: a string key gives the same answer as its UTF-8 bytes (string fast paths)', () => {
    const text = (max: number) => fc.array(fc.constantFrom('a', 'b', '*', '?', '[a-b]', '\\', 'é', '😀', ':'), { maxLength: max }).map((p) => p.join(''));
    fc.assert(
      fc.property(text(5), text(6), (glob, key) => {
        const m = compileGlob(glob);
        assert.equal(m(key), m(Buffer.from(key, 'utf8')));
        assert.equal(m(key), scanMatches(Buffer.from(glob, 'utf8'), Buffer.from(key, 'utf8')));
      }),
      { numRuns: 5000 },
    );
  });

  test('property: a key escaped as a glob matches itself and isLiteralGlob says so', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (key) => {
        assert.equal(compileGlob(escapeGlob(key))(key), true);
        assert.equal(isLiteralGlob(escapeGlob(key)), true);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 16 }), (bytes) => {
        const key = Buffer.from(bytes);
        const glob = escapeGlob(key);
        assert.equal(compileGlob(glob)(key), true);
        assert.equal(scanMatches(glob, key), true);
      }),
    );
  });
});

describe('isLiteralGlob and globPrefix', () => {
  const LITERAL: [string, boolean][] = [
    ['session:1', true],
    ['a\\*b', true],
    ['a\\?', true],
    ['', true],
    ['\\', true],
    ['a*', false],
    ['a?', false],
    ['[ab]', false],
    ['a\\\\*', false],
  ];
  for (const [glob, literal] of LITERAL) {
    test(`isLiteralGlob(${JSON.stringify(glob)}) is ${literal}`, () => assert.equal(isLiteralGlob(glob), literal));
  }

  test('globPrefix is the literal part before the first wildcard', () => {
    assert.equal(globPrefix('session:*').toString(), 'session:');
    assert.equal(globPrefix('user:*:profile').toString(), 'user:');
    assert.equal(globPrefix('a\\*b?').toString(), 'a*b');
    assert.equal(globPrefix('*x').length, 0);
    assert.equal(globPrefix('[a]x').length, 0);
  });
});
