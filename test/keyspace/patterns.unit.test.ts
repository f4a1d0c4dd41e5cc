import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createPatternGrouper, inferPattern, type PatternGroup } from '../../src/keyspace/patterns.js';

/** Redis glob semantics for what the inference emits: `*`, `?` and backslash escapes, over bytes. */
function globMatches(glob: string, key: Buffer): boolean {
  const g = Buffer.from(glob, 'utf8').toString('latin1');
  let source = '';
  for (let i = 0; i < g.length; i++) {
    if (g[i] === '\\') source += g[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (g[i] === '*') source += '[\\s\\S]*';
    else if (g[i] === '?') source += '[\\s\\S]';
    else source += g[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`).test(key.toString('latin1'));
}

const counting = () => createPatternGrouper<{ n: number }>({ create: () => ({ n: 0 }), merge: (a, b) => void (a.n += b.n) });

function group(keys: string[], options: { maxPatterns?: number; compactAt?: number } = {}): PatternGroup<{ n: number }>[] {
  const g = createPatternGrouper<{ n: number }>({ create: () => ({ n: 0 }), merge: (a, b) => void (a.n += b.n), ...options });
  for (const k of keys) g.bucket(Buffer.from(k)).n++;
  return g.finish();
}

const summary = (groups: PatternGroup<{ n: number }>[]): string[] => groups.map((g) => `${g.pattern} ${g.keys}`);

function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const letters = (i: number, len = 6): string => {
  let s = '';
  for (let k = 0; k < len; k++) s += String.fromCharCode(97 + ((i * 7 + k * 13 + Math.floor(i / 26 ** k)) % 26));
  return s;
};

describe('inferPattern', () => {
  const cases: Array<[string, string, string]> = [
    ['required', 'session:10000005', 'session:*'],
    ['required', 'user:35325:profile', 'user:*:profile'],
    ['required', 'email:verify:9f86d081884c7d659a2feaa0c55ad015', 'email:verify:*'],
    ['required', 'cache:product:42', 'cache:product:*'],
    ['required', 'ratelimit:api:77:min', 'ratelimit:api:*:min'],
    ['required', 'leaderboard:global', 'leaderboard:global'],
    ['integer', 'order:7', 'order:*'],
    ['hex', 'blob:deadbeefcafe', 'blob:*'],
    ['mixed hex', 'etag:a1b2c3', 'etag:*'],
    ['uuid', 'job:3f2b8c1e-9d4a-4b7e-a1c2-5e6f7a8b9c0d:state', 'job:*:state'],
    ['glued uuid', 'celery-task-meta-3f2b8c1e-9d4a-4b7e-a1c2-5e6f7a8b9c0d', 'celery-task-meta-*'],
    ['ulid', 'person:01J8ZK3N7QF4X2W9D5H6T0RBEM', 'person:*'],
    ['base64-like', 'sio:session:kPbXhAAAFqZyTrWm', 'sio:session:*'],
    ['base64 with / and +', 'flask_cache_Vd0k/3mX9pL2sR8w+cT1yG', 'flask_cache_*'],
    ['date', 'stats:2025-02-14', 'stats:*'],
    ['datetime with colons', 'audit:2025-02-14T08:00:00.123Z:login', 'audit:*:login'],
    ['epoch', 'resque:delayed:1739523600', 'resque:delayed:*'],
    ['email', 'verify:jane.doe+x@mail.example.com:token', 'verify:*:token'],
    ['phone', 'otp:+14155552671', 'otp:*'],
    ['ipv4', 'rl:203.0.113.42', 'rl:*'],
    ['ipv4 glued', 'fastify-rate-limit-192.0.2.17', 'fastify-rate-limit-*'],
    ['ipv6', 'rl:2001:db8:85a3:1200::/56', 'rl:*'],
    ['url', 'page:https://example.com/a/b?c=1', 'page:*'],
    ['json', 'resque:timestamps:{"class":"SendInvoiceEmail","args":[48213]}', 'resque:timestamps:*'],
    ['glued prefix', 'user:user1234', 'user:user*'],
    ['hash tag', '{bull}:email:1842', '{bull}:email:*'],
    ['id in hash tag', 'redisson_lock_queue:{a1b2c3d4}', 'redisson_lock_queue:{*}'],
    ['double colon', 'rq:job::3f2b8c1e-9d4a-4b7e-a1c2-5e6f7a8b9c0d:dependencies', 'rq:job::*:dependencies'],
    ['leading delimiter', ':1:user_profile_42', ':*:user_profile_*'],
    ['other delimiters', 'traefik/http/services/api-svc/servers/0/url', 'traefik/http/services/api-svc/servers/*/url'],
    ['long word is a blob', `x:${'a'.repeat(100)}`, 'x:*'],
    ['multi-byte text stays', 'user:josé:profile', 'user:josé:profile'],
  ];
  for (const [what, key, pattern] of cases) {
    it(`${what}: ${key.slice(0, 60)} → ${pattern}`, () => {
      assert.equal(inferPattern(key), pattern);
      assert.ok(globMatches(pattern, Buffer.from(key)), 'the pattern matches its key');
    });
  }

  const escaping: Array<[string, string]> = [
    ['a*b', 'a\\*b'],
    ['what?:1', 'what\\?:*'],
    ['set[1]:x', 'set*:x'],
    ['[1]:x', '*:x'],
    ['set[a]:x', 'set\\[a\\]:x'],
    ['back\\slash', 'back\\\\slash'],
    ['(other)', '\\(other)'],
  ];
  for (const [key, pattern] of escaping) {
    it(`escapes glob metacharacters: ${key} → ${pattern}`, () => {
      assert.equal(inferPattern(key), pattern);
      assert.ok(globMatches(pattern, Buffer.from(key)));
    });
  }

  const binary: Array<[string, Buffer, string]> = [
    ['NUL inside', Buffer.from('a\x00b:1', 'latin1'), 'a*b:*'],
    ['0xff byte', Buffer.from([0x6b, 0x3a, 0xff, 0x3a, 0x78]), 'k:*:x'],
    ['newline', Buffer.from('line\nbreak', 'latin1'), 'line*break'],
    ['terminal escape', Buffer.from('\x1b[31mred:2', 'latin1'), '*:*'],
    ['C1 control as UTF-8', Buffer.from('a\u009bb', 'utf8'), 'a*b'],
    ['the empty key', Buffer.alloc(0), ''],
    ['only binary', Buffer.from([0, 1, 2, 0xfe]), '*'],
    [
      'serialised struct',
      Buffer.concat([Buffer.from([1, 0, 0, 0, 9, 0, 0, 0]), Buffer.from('driver_id'), Buffer.from([0xe9, 3, 0, 0]), Buffer.from('driver_ranking')]),
      '*driver_id*driver_ranking',
    ],
  ];
  for (const [what, key, pattern] of binary) {
    it(`binary keys: ${what}`, () => {
      const got = inferPattern(key);
      assert.equal(got, pattern);
      const controls = [...got].filter((ch) => ch.charCodeAt(0) < 0x20 || (ch.charCodeAt(0) >= 0x7f && ch.charCodeAt(0) < 0xa0));
      assert.deepEqual(controls, [], 'no control character reaches the pattern');
      assert.ok(globMatches(got, key));
    });
  }

  it('handles a 1 MB key in linear time', () => {
    const key = Buffer.from(`big:${'ab:cd-'.repeat(175_000)}`);
    const started = Date.now();
    const got = inferPattern(key);
    assert.ok(Date.now() - started < 200);
    assert.ok(got.length < 600 && got.endsWith('*'), 'the tail of a huge key is a wildcard');
    assert.ok(globMatches(got, key));
    assert.equal(inferPattern(Buffer.alloc(1 << 20, 0x61)), '*');
  });

  it('accepts a string and its UTF-8 bytes alike', () => {
    assert.equal(inferPattern('user:josé:42'), inferPattern(Buffer.from('user:josé:42')));
  });
});

describe('createPatternGrouper', () => {
  it('collapses high-cardinality siblings without digits', () => {
    const keys = Array.from({ length: 100 }, (_, i) => `user:${letters(i)}:profile`);
    keys.push(...Array.from({ length: 60 }, (_, i) => `cron_job:default:${letters(i, 4)} ${letters(i + 3)} - ${letters(i + 5, 5)}`));
    keys.push(...Array.from({ length: 40 }, (_, i) => `cron_job:default:${letters(i, 5)} worker - every ${letters(i + 7, 3)}`));
    assert.deepEqual(summary(group(keys)), ['user:*:profile 100', 'cron_job:default:* 60', 'cron_job:default:* worker - every * 40']);
  });

  it('keeps constants that sit where ids sit apart', () => {
    const keys = ['bull:email:wait', 'bull:email:active', 'bull:email:meta'];
    for (let i = 0; i < 50; i++) keys.push(`bull:email:${1800 + i}`);
    assert.deepEqual(summary(group(keys)), ['bull:email:* 50', 'bull:email:active 1', 'bull:email:meta 1', 'bull:email:wait 1']);
  });

  it('collapses queue names and keeps the suffixes', () => {
    const keys: string[] = [];
    for (let q = 0; q < 40; q++) {
      for (const suffix of ['wait', 'active', 'stalled-check']) keys.push(`bull:${letters(q)}:${suffix}`);
      for (let j = 0; j < 5; j++) keys.push(`bull:${letters(q)}:${q * 100 + j}`);
    }
    assert.deepEqual(summary(group(keys)), ['bull:*:* 200', 'bull:*:active 40', 'bull:*:stalled-check 40', 'bull:*:wait 40']);
  });

  it('keeps single-digit versions literal until they vary', () => {
    const keys = Array.from({ length: 20 }, (_, i) => `:1:views:${1000 + i}`);
    keys.push('b:p:0', 'b:p:3', 'b:p:7', 'l:b:p');
    assert.deepEqual(summary(group(keys)), [':1:views:* 20', 'b:p:* 3', 'l:b:p 1']);
  });

  it("folds the long tail into '(other)' and never drops a key", () => {
    const keys = Array.from({ length: 30 }, (_, i) => `ns${letters(i)}:thing`);
    keys.push(...Array.from({ length: 10 }, (_, i) => `big:${i}`));
    const groups = group(keys, { maxPatterns: 5 });
    assert.equal(groups.length, 6);
    assert.deepEqual(groups[0].pattern, 'big:*');
    assert.equal(groups[5].pattern, '(other)');
    assert.equal(groups[5].keys, 26);
    assert.equal(groups[5].stats.n, 26);
    assert.equal(
      groups.reduce((n, g) => n + g.stats.n, 0),
      keys.length,
    );
  });

  it('lets policy globs win over inference', () => {
    const g = createPatternGrouper<{ n: number }>({
      create: () => ({ n: 0 }),
      merge: (a, b) => void (a.n += b.n),
      fixedPattern: (key) => (key.toString().startsWith('session:') ? 'session:*' : undefined),
    });
    for (const k of ['session:abc', 'session:def:x', 'user:12']) g.bucket(Buffer.from(k)).n++;
    assert.deepEqual(summary(g.finish()), ['session:* 2', 'user:* 1']);
  });

  const mixed = (): string[] => {
    const keys: string[] = [];
    for (let i = 0; i < 300; i++) keys.push(`user:${letters(i)}:profile`, `session:${i * 7919}`);
    for (let i = 0; i < 200; i++) keys.push(`cron_job:${letters(i % 50, 3)}:${letters(i, 8)}`, `${letters(i)}~lock`);
    for (let q = 0; q < 60; q++) keys.push(`bull:${letters(q, 5)}:wait`, `bull:${letters(q, 5)}:${q}`, `v${q % 3}:x`);
    return keys;
  };

  it('gives the same groups for any key order', () => {
    const keys = mixed();
    const expected = summary(group(keys));
    for (const seed of [1, 2, 3]) assert.deepEqual(summary(group(shuffle(keys, seed))), expected);
  });

  it('gives the same groups when it compacts online to bound memory', () => {
    const keys = mixed();
    const expected = summary(group(keys));
    for (const seed of [4, 5]) assert.deepEqual(summary(group(shuffle(keys, seed), { compactAt: 100 })), expected);
  });

  it('keeps apart two forms whose hashes collide (the grouper finds known forms by hash)', () => {
    // FNV-1a of 'yaczfa' and of 'glbppa' are equal: each key must still land in its own group.
    const keys = ['yaczfa', 'glbppa', 'yaczfa', 'glbppa', 'yaczfa', 'cache:yaczfa:1', 'cache:glbppa:2'];
    assert.deepEqual(summary(group(keys)), ['yaczfa 3', 'glbppa 2', 'cache:glbppa:2 1', 'cache:yaczfa:1 1']);
  });

  it('stays bounded and exact on many ids without digits', () => {
    const g = createPatternGrouper<{ n: number }>({ create: () => ({ n: 0 }), merge: (a, b) => void (a.n += b.n), compactAt: 2000 });
    for (let i = 0; i < 50_000; i++) g.bucket(Buffer.from(`user:${letters(i, 9)}:profile`)).n++;
    assert.deepEqual(summary(g.finish()), ['user:*:profile 50000']);
  });

  it('property: order and compaction never change the groups, and keys add up', () => {
    const word = fc.constantFrom('user', 'bull', 'wait', 'cache', 'x', 'a', 'b', 'v2', '7', '42', '1a2b3c4d5e', 'josé');
    const segment = fc.oneof(word, fc.stringMatching(/^[a-z]{1,6}$/), fc.integer({ min: 0, max: 99999 }).map(String));
    const key = fc.array(segment, { minLength: 1, maxLength: 4 }).chain((parts) => fc.constantFrom(':', '/', '-', '::').map((d) => parts.join(d)));
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 300 }), fc.integer(), (keys, seed) => {
        const a = group(keys);
        const b = group(shuffle(keys, Math.abs(seed)), { compactAt: 16 });
        assert.deepEqual(summary(b), summary(a));
        assert.equal(
          a.reduce((n, g) => n + g.keys, 0),
          keys.length,
        );
        assert.equal(
          a.reduce((n, g) => n + g.stats.n, 0),
          keys.length,
        );
        for (const k of keys)
          assert.ok(
            a.some((g) => globMatches(g.pattern, Buffer.from(k))),
            `${k} is matched`,
          );
      }),
      { numRuns: 150 },
    );
  });

  it('property: bucket(key, start, end) reads that slice only, whatever bytes surround it', () => {
    // A dump reader hands keys in place in its read buffer: the bytes around a key (here ones
    // that would make an e-mail, a URL, JSON or an IPv6 address of it) must never be read.
    const part = fc.constantFrom(
      'user',
      ':',
      '::',
      '@',
      'a.b',
      '://',
      'http',
      '{"a":1}',
      '[',
      '2001:db8::1',
      '2025-02-14',
      '42',
      'x@y.io',
      '\u00e9',
      '\u0000',
      '-',
    );
    const key = fc.array(part, { minLength: 0, maxLength: 6 }).map((p) => Buffer.from(p.join(''), 'latin1'));
    const around = fc.constantFrom('', '@x.io', '://a', 'b:/', '{"k":2}', ':1', '"]');
    fc.assert(
      fc.property(fc.array(key, { maxLength: 60 }), around, around, (keys, before, after) => {
        const whole = counting();
        const sliced = counting();
        for (const k of keys) {
          whole.bucket(k).n++;
          const lead = Buffer.from(before, 'latin1');
          sliced.bucket(Buffer.concat([lead, k, Buffer.from(after, 'latin1')]), lead.length, lead.length + k.length).n++;
        }
        assert.deepEqual(summary(sliced.finish()), summary(whole.finish()));
      }),
      { numRuns: 200 },
    );
  });

  it('counts through a counting accumulator', () => {
    const g = counting();
    for (let i = 0; i < 1000; i++) g.bucket(Buffer.from(`k:${i % 3 === 0 ? letters(i) : i}`)).n++;
    assert.equal(
      g.finish().reduce((n, x) => n + x.stats.n, 0),
      1000,
    );
  });
});
