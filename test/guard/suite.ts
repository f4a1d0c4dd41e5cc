/**
 * The guard suite, run for every driver (ioredis / node-redis × standalone / cluster). Keys
 * carry a hash tag per case so multi-key commands and batches stay in one cluster slot.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { GuardViolationError, type GuardOptions, type GuardViolation } from '../../src/guard/index.js';
import type { Driver } from './drivers.js';

const HOUR = 3_600_000;
export const POLICY = {
  rules: [
    { match: 't:*', ttl: '1h' },
    { match: 'j:*', ttl: '1h', jitter: '50%' },
    { match: 'd:*', role: 'durable' },
  ],
};

/** A fresh hash-tagged key namespace for one case: `p('t', 'a')` → `t:{id}:a`. */
export function space(): (rule: string, name: string) => string {
  const id = randomUUID().slice(0, 8);
  return (rule, name) => `${rule}:{${id}}:${name}`;
}

interface CommandCase {
  /** Raw set-up commands (sent unguarded). */
  setup?: (k: (n: string) => string) => string[][];
  command: (k: (n: string) => string) => string[];
  /** The created key's name. */
  creates: string;
  /** False for commands that replace the key (SET, *STORE): an earlier TTL does not survive them. */
  keepsTtl: boolean;
}

const c = (command: CommandCase['command'], keepsTtl = true, creates = 'dst', setup?: CommandCase['setup']): CommandCase => ({
  command,
  keepsTtl,
  creates,
  setup,
});
const list = (k: (n: string) => string) => [['RPUSH', k('src'), '3', '1', '2']];
const set = (k: (n: string) => string) => [['SADD', k('src'), 'm']];
const zset = (k: (n: string) => string) => [['ZADD', k('src'), '1', 'm']];
const geo = (k: (n: string) => string) => [['GEOADD', k('src'), '13.361389', '38.115556', 'palermo']];

/** Every command family of the table, with the key it creates. */
export const COMMAND_CASES: Record<string, CommandCase> = {
  SET: c((k) => ['SET', k('dst'), 'v'], false),
  'SET KEEPTTL': c((k) => ['SET', k('dst'), 'v', 'KEEPTTL']),
  SETNX: c((k) => ['SETNX', k('dst'), 'v'], false),
  GETSET: c((k) => ['GETSET', k('dst'), 'v'], false),
  MSET: c((k) => ['MSET', k('other'), 'v', k('dst'), 'v'], false),
  MSETNX: c((k) => ['MSETNX', k('other'), 'v', k('dst'), 'v'], false),
  SETRANGE: c((k) => ['SETRANGE', k('dst'), '2', 'v']),
  APPEND: c((k) => ['APPEND', k('dst'), 'v']),
  INCR: c((k) => ['INCR', k('dst')]),
  DECR: c((k) => ['DECR', k('dst')]),
  INCRBY: c((k) => ['INCRBY', k('dst'), '5']),
  DECRBY: c((k) => ['DECRBY', k('dst'), '5']),
  INCRBYFLOAT: c((k) => ['INCRBYFLOAT', k('dst'), '1.5']),
  SETBIT: c((k) => ['SETBIT', k('dst'), '7', '1']),
  BITFIELD: c((k) => ['BITFIELD', k('dst'), 'SET', 'u8', '0', '255']),
  HSET: c((k) => ['HSET', k('dst'), 'f', 'v', 'g', 'w']),
  HSETNX: c((k) => ['HSETNX', k('dst'), 'f', 'v']),
  HMSET: c((k) => ['HMSET', k('dst'), 'f', 'v']),
  HINCRBY: c((k) => ['HINCRBY', k('dst'), 'f', '2']),
  HINCRBYFLOAT: c((k) => ['HINCRBYFLOAT', k('dst'), 'f', '2.5']),
  LPUSH: c((k) => ['LPUSH', k('dst'), 'a', 'b']),
  RPUSH: c((k) => ['RPUSH', k('dst'), 'a']),
  LINSERT: c(
    (k) => ['LINSERT', k('dst'), 'BEFORE', 'a', 'b'],
    true,
    'dst',
    (k) => [['RPUSH', k('dst'), 'a']],
  ),
  SADD: c((k) => ['SADD', k('dst'), 'a', 'b']),
  ZADD: c((k) => ['ZADD', k('dst'), '1', 'a']),
  ZINCRBY: c((k) => ['ZINCRBY', k('dst'), '2', 'a']),
  XADD: c((k) => ['XADD', k('dst'), '*', 'f', 'v']),
  'XGROUP CREATE MKSTREAM': c((k) => ['XGROUP', 'CREATE', k('dst'), 'g', '$', 'MKSTREAM']),
  PFADD: c((k) => ['PFADD', k('dst'), 'a', 'b']),
  GEOADD: c((k) => ['GEOADD', k('dst'), '13.361389', '38.115556', 'palermo']),
  COPY: c(
    (k) => ['COPY', k('src'), k('dst')],
    false,
    'dst',
    (k) => [['SET', k('src'), 'v']],
  ),
  SMOVE: c((k) => ['SMOVE', k('src'), k('dst'), 'm'], true, 'dst', set),
  LMOVE: c((k) => ['LMOVE', k('src'), k('dst'), 'LEFT', 'RIGHT'], true, 'dst', list),
  BLMOVE: c((k) => ['BLMOVE', k('src'), k('dst'), 'LEFT', 'RIGHT', '1'], true, 'dst', list),
  BRPOPLPUSH: c((k) => ['BRPOPLPUSH', k('src'), k('dst'), '1'], true, 'dst', list),
  RPOPLPUSH: c((k) => ['RPOPLPUSH', k('src'), k('dst')], true, 'dst', list),
  SUNIONSTORE: c((k) => ['SUNIONSTORE', k('dst'), k('src')], false, 'dst', set),
  SINTERSTORE: c((k) => ['SINTERSTORE', k('dst'), k('src')], false, 'dst', set),
  SDIFFSTORE: c((k) => ['SDIFFSTORE', k('dst'), k('src')], false, 'dst', set),
  ZUNIONSTORE: c((k) => ['ZUNIONSTORE', k('dst'), '1', k('src')], false, 'dst', zset),
  ZINTERSTORE: c((k) => ['ZINTERSTORE', k('dst'), '1', k('src')], false, 'dst', zset),
  ZDIFFSTORE: c((k) => ['ZDIFFSTORE', k('dst'), '1', k('src')], false, 'dst', zset),
  ZRANGESTORE: c((k) => ['ZRANGESTORE', k('dst'), k('src'), '0', '-1'], false, 'dst', zset),
  GEOSEARCHSTORE: c((k) => ['GEOSEARCHSTORE', k('dst'), k('src'), 'FROMLONLAT', '13.36', '38.11', 'BYRADIUS', '100', 'km'], false, 'dst', geo),
  'GEORADIUS STORE': c((k) => ['GEORADIUS', k('src'), '13.36', '38.11', '100', 'km', 'STORE', k('dst')], false, 'dst', geo),
  'SORT STORE': c((k) => ['SORT', k('src'), 'STORE', k('dst')], false, 'dst', list),
  BITOP: c(
    (k) => ['BITOP', 'OR', k('dst'), k('src')],
    false,
    'dst',
    (k) => [['SET', k('src'), 'ab']],
  ),
  RENAME: c(
    (k) => ['RENAME', k('src'), k('dst')],
    false,
    'dst',
    (k) => [['SET', k('src'), 'v']],
  ),
  RENAMENX: c(
    (k) => ['RENAMENX', k('src'), k('dst')],
    false,
    'dst',
    (k) => [['SET', k('src'), 'v']],
  ),
  PFMERGE: c(
    (k) => ['PFMERGE', k('dst'), k('src')],
    true,
    'dst',
    (k) => [['PFADD', k('src'), 'a']],
  ),
};

function assertRuleTtl(pttl: unknown, what: string): void {
  assert.equal(typeof pttl, 'number', what);
  assert.ok((pttl as number) > HOUR - 60_000 && (pttl as number) <= HOUR, `${what}: PTTL ${String(pttl)} is not the rule's 1h`);
}

/** Register the guard suite for one driver (resolved lazily, once the servers are up). */
export function guardSuite(driverOf: () => Driver): void {
  const d = () => driverOf();
  const pttl = (key: string) => d().raw.call(['PTTL', key]);

  it('gives every key-creating command in the table its rule TTL', async () => {
    const g = d().guarded({ policy: POLICY });
    for (const [name, spec] of Object.entries(COMMAND_CASES)) {
      const p = space();
      const k = (n: string) => p('t', n);
      for (const cmd of spec.setup?.(k) ?? []) await d().raw.call(cmd);
      await g.call(spec.command(k));
      assertRuleTtl(await pttl(k(spec.creates)), name);
    }
  });

  it('leaves an existing TTL unchanged (EXPIRE … NX), for commands that do not replace the key', async () => {
    const g = d().guarded({ policy: POLICY });
    for (const [name, spec] of Object.entries(COMMAND_CASES)) {
      if (!spec.keepsTtl || name === 'XGROUP CREATE MKSTREAM') continue;
      const p = space();
      const k = (n: string) => p('t', n);
      for (const cmd of spec.setup?.(k) ?? []) await d().raw.call(cmd);
      // Give the destination a short TTL first (a sliding session, a rate-limit window).
      const seed =
        name === 'SET KEEPTTL' ||
        name === 'SETRANGE' ||
        name === 'APPEND' ||
        name === 'INCR' ||
        name === 'DECR' ||
        name.startsWith('INCRBY') ||
        name === 'DECRBY' ||
        name === 'SETBIT' ||
        name === 'BITFIELD';
      const exists = (await d().raw.call(['EXISTS', k(spec.creates)])) === 1;
      if (!exists) {
        if (seed) await d().raw.call(['SET', k(spec.creates), '1']);
        else if (name.startsWith('H')) await d().raw.call(['HSET', k(spec.creates), 'seed', '1']);
        else if (['LPUSH', 'RPUSH', 'LMOVE', 'BLMOVE', 'RPOPLPUSH', 'BRPOPLPUSH'].includes(name)) await d().raw.call(['RPUSH', k(spec.creates), 'seed']);
        else if (['SADD', 'SMOVE'].includes(name)) await d().raw.call(['SADD', k(spec.creates), 'seed']);
        else if (['ZADD', 'ZINCRBY', 'GEOADD'].includes(name)) await d().raw.call(['ZADD', k(spec.creates), '1', 'seed']);
        else if (name === 'XADD') await d().raw.call(['XADD', k(spec.creates), '*', 'seed', '1']);
        else if (['PFADD', 'PFMERGE'].includes(name)) await d().raw.call(['PFADD', k(spec.creates), 'seed']);
      }
      await d().raw.call(['PEXPIRE', k(spec.creates), '100000']);
      await g.call(spec.command(k));
      const left = (await pttl(k(spec.creates))) as number;
      assert.ok(left > 0 && left <= 100_000, `${name}: TTL was changed to ${left}`);
    }
  });

  it('never gives a durable key a TTL, and leaves unmatched keys alone unless defaultTtl is set', async () => {
    const p = space();
    const g = d().guarded({ policy: POLICY });
    await g.call(['HSET', p('d', 'profile'), 'name', 'ada']);
    await g.call(['SET', p('d', 'flag'), '1']);
    await g.call(['SET', p('u', 'other'), '1']);
    assert.equal(await pttl(p('d', 'profile')), -1);
    assert.equal(await pttl(p('d', 'flag')), -1);
    assert.equal(await pttl(p('u', 'other')), -1);
    const withDefault = d().guarded({ policy: POLICY, defaultTtl: '1h' });
    await withDefault.call(['LPUSH', p('u', 'queue'), 'job']);
    await withDefault.call(['HSET', p('d', 'profile2'), 'name', 'ada']);
    assertRuleTtl(await pttl(p('u', 'queue')), 'defaultTtl');
    assert.equal(await pttl(p('d', 'profile2')), -1, 'durable beats defaultTtl');
  });

  it('keeps an explicit TTL on SET and applies rule jitter within (ttl × (1 − jitter), ttl]', async () => {
    const p = space();
    const g = d().guarded({ policy: POLICY });
    await g.call(['SET', p('t', 'explicit'), 'v', 'EX', '60']);
    const explicit = (await pttl(p('t', 'explicit'))) as number;
    assert.ok(explicit > 0 && explicit <= 60_000);
    const ttls = new Set<number>();
    for (let i = 0; i < 20; i++) {
      await g.call(['HSET', p('j', `k${i}`), 'f', 'v']);
      const t = (await pttl(p('j', `k${i}`))) as number;
      assert.ok(t > HOUR * 0.5 - 60_000 && t <= HOUR, `jittered TTL ${t}`);
      ttls.add(Math.round(t / 1000));
    }
    assert.ok(ttls.size > 5, 'jitter spreads expiries');
  });

  it('returns exactly the raw client replies inside pipelines and MULTIs, errors included', async () => {
    const batch = (k: (n: string) => string) => [
      ['SET', k('s'), 'v'],
      ['HSET', k('h'), 'a', '1', 'b', '2'],
      ['INCR', k('n')],
      ['MSET', k('m1'), 'x', k('m2'), 'y'],
      ['GET', k('s')],
      ['HGETALL', k('h')],
      ['INCR', k('h')], // WRONGTYPE at run time
      ['LPUSH', k('l'), 'a', 'b'],
      ['LRANGE', k('l'), '0', '-1'],
      ['SET', k('kt'), 'v', 'KEEPTTL'],
    ];
    const g = d().guarded({ policy: POLICY });
    for (const kind of ['pipeline', 'multi'] as const) {
      const pr = space();
      const pg = space();
      const raw = await d().raw[kind](batch((n) => pr('t', n)));
      const guarded = await g[kind](batch((n) => pg('t', n)));
      assert.deepEqual(guarded, raw, `${kind} replies`);
      for (const n of ['s', 'h', 'n', 'm1', 'm2', 'l', 'kt']) assertRuleTtl(await pttl(pg('t', n)), `${kind} ${n}`);
      assert.equal(await pttl(pr('t', 'h')), -1, 'the raw client is not guarded');
    }
    // A transaction the server refuses at queue time fails the same way through the guard.
    const bad = (k: (n: string) => string) => [
      ['HSET', k('x'), 'f', 'v'],
      ['HSET', k('x')],
    ];
    const pr = space();
    const pg = space();
    const rawBad = await d().raw.multi(bad((n) => pr('t', n)));
    const guardedBad = await g.multi(bad((n) => pg('t', n)));
    assert.notEqual(rawBad[0][0], null);
    assert.notEqual(guardedBad[0][0], null);
    assert.equal(await d().raw.call(['EXISTS', pg('t', 'x')]), 0);
  });

  it("lets the application's own TTL in the same batch win (INCR + PEXPIRE … NX rate limiter)", async () => {
    const p = space();
    const g = d().guarded({ policy: POLICY });
    for (const kind of ['pipeline', 'multi'] as const) {
      const replies = await g[kind]([
        ['INCR', p('t', `rate-${kind}`)],
        ['PEXPIRE', p('t', `rate-${kind}`), '60000', 'NX'],
        ['SET', p('t', `s-${kind}`), 'v'],
        ['EXPIRE', p('t', `s-${kind}`), '30', 'NX'],
      ]);
      assert.deepEqual(replies, [
        [null, 1],
        [null, 1],
        [null, 'OK'],
        [null, 1],
      ]);
      const rate = (await pttl(p('t', `rate-${kind}`))) as number;
      const s = (await pttl(p('t', `s-${kind}`))) as number;
      assert.ok(rate > 0 && rate <= 60_000, `${kind}: rate window ${rate}`);
      assert.ok(s > 0 && s <= 30_000, `${kind}: SET ttl ${s}`);
    }
  });

  it('a TTL the batch sets earlier, or on another key, covers nothing: those writes still get theirs', async () => {
    const p = space();
    const g = d().guarded({ policy: POLICY });
    for (const kind of ['pipeline', 'multi'] as const) {
      const k = (n: string) => p('t', `${n}-${kind}`);
      const replies = await g[kind]([
        ['EXPIRE', k('a'), '30'], // no key yet: 0, and it says nothing about the SET that follows
        ['SET', k('a'), 'v'],
        ['HSET', k('h'), 'f', 'v'],
        ['SET', k('b'), 'v'],
        ['SET', k('c'), 'v', 'EX', '30'], // decides c's TTL, not b's or h's
        ['EXPIRE', k('h2'), '30'],
        ['HSET', k('h2'), 'f', 'v'],
      ]);
      assert.deepEqual(replies, [
        [null, 0],
        [null, 'OK'],
        [null, 1],
        [null, 'OK'],
        [null, 'OK'],
        [null, 0],
        [null, 1],
      ]);
      for (const n of ['a', 'h', 'b', 'h2']) assertRuleTtl(await pttl(k(n)), `${kind} ${n}`);
      const c = (await pttl(k('c'))) as number;
      assert.ok(c > 0 && c <= 30_000, `${kind}: c ${c}`);
    }
  });

  it('puts each PEXPIRE right after its command, so SELECT/RENAME later in the batch see the TTL; PERSIST wins', async () => {
    const p = space();
    const g = d().guarded({ policy: POLICY });
    const replies = await g.multi([
      ['HSET', p('t', 'tmp'), 'f', 'v'],
      ['RENAME', p('t', 'tmp'), p('u', 'final')], // u:* has no rule: it keeps the TTL tmp had
      ['HSET', p('t', 'kept'), 'f', 'v'],
      ['PERSIST', p('t', 'kept')],
    ]);
    assert.deepEqual(replies, [
      [null, 1],
      [null, 'OK'],
      [null, 1],
      [null, 0],
    ]);
    assertRuleTtl(await pttl(p('u', 'final')), 'renamed key');
    assert.equal(await pttl(p('t', 'kept')), -1, 'the application persisted it on purpose');
  });

  it('passes a single command error through unchanged', async () => {
    const p = space();
    await d().raw.call(['SET', p('t', 'str'), 'v']);
    const g = d().guarded({ policy: POLICY });
    await assert.rejects(g.call(['HSET', p('t', 'str'), 'f', 'v']), /WRONGTYPE/);
    await assert.rejects(g.call(['HSET', p('t', 'nofield')]), /wrong number of arguments/i);
  });

  it('strict mode refuses a TTL-less write before anything is sent, naming key, pattern and rule', async () => {
    const p = space();
    const g = d().guarded({ policy: POLICY, mode: 'strict' });
    const before = { hset: await d().commandCalls('hset'), multi: await d().commandCalls('multi'), incr: await d().commandCalls('incr') };
    const err = await g.call(['HSET', p('t', 'a'), 'f', 'v']).then(
      () => assert.fail('strict HSET was accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof GuardViolationError);
    assert.match(err.message, /HSET/);
    assert.match(err.message, new RegExp(`t:\\{.*\\}:a`));
    assert.match(err.message, /t:\*/);
    assert.match(err.message, /rules\[0\]/);
    await assert.rejects(g.call(['SET', p('t', 'b'), 'v']), GuardViolationError);
    const multi = await g.multi([
      ['INCR', p('t', 'c')],
      ['GET', p('t', 'c')],
    ]);
    assert.match(String(multi[0][0]), /strict/);
    const pipe = await g.pipeline([['HSET', p('t', 'd'), 'f', 'v']]).catch((e: Error) => [[e.message, null]]);
    assert.match(String(pipe[0][0]), /strict/);
    assert.equal(await d().commandCalls('hset'), before.hset, 'no HSET reached the server');
    assert.equal(await d().commandCalls('multi'), before.multi, 'no MULTI reached the server');
    assert.equal(await d().commandCalls('incr'), before.incr, 'no INCR reached the server');
    assert.equal(await d().raw.call(['EXISTS', p('t', 'a'), p('t', 'b'), p('t', 'c'), p('t', 'd')]), 0);
  });

  it('strict mode accepts writes that carry their TTL, or get one later in the same batch', async () => {
    const p = space();
    const g = d().guarded({ policy: POLICY, mode: 'strict' });
    assert.equal(await g.call(['SET', p('t', 'a'), 'v', 'PX', '5000']), 'OK');
    const replies = await g.multi([
      ['HSET', p('t', 'h'), 'f', 'v'],
      ['EXPIRE', p('t', 'h'), '60'],
      ['INCR', p('t', 'n')],
      ['PEXPIRE', p('t', 'n'), '60000', 'NX'],
    ]);
    assert.deepEqual(replies, [
      [null, 1],
      [null, 1],
      [null, 1],
      [null, 1],
    ]);
    await g.call(['HSET', p('d', 'profile'), 'f', 'v']); // durable: fine without TTL
    await g.call(['HSET', p('u', 'unmatched'), 'f', 'v']); // no rule, no defaultTtl: fine
    assert.equal(await pttl(p('d', 'profile')), -1);
  });

  it('warn mode sends as is and reports each violation; scripts are reported in strict mode', async () => {
    const p = space();
    const seen: GuardViolation[] = [];
    const g = d().guarded({ policy: POLICY, mode: 'warn', onViolation: (v) => seen.push(v) });
    assert.equal(await g.call(['LPUSH', p('t', 'l'), 'a']), 1);
    assert.equal(await pttl(p('t', 'l')), -1);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].kind, 'missing-ttl');
    assert.equal(seen[0].command, 'LPUSH');
    assert.equal(String(seen[0].key), p('t', 'l'));
    assert.equal(seen[0].rule?.match, 't:*');
    assert.equal(seen[0].ttlMs, HOUR);

    const scripts: GuardViolation[] = [];
    const strict = d().guarded({ policy: POLICY, mode: 'strict', onViolation: (v) => scripts.push(v) } satisfies GuardOptions);
    assert.equal(await strict.call(['EVAL', "return redis.call('SET', KEYS[1], 'v')", '1', p('t', 'script')]), 'OK');
    assert.equal(scripts.length, 1);
    assert.equal(scripts[0].kind, 'script');
    assert.equal(scripts[0].command, 'EVAL');
  });
}
