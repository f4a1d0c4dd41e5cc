import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CREATING_COMMANDS, createdKeys, creatingCommand, setTtlMode } from '../../src/guard/commands.js';
import { GuardViolationError } from '../../src/guard/errors.js';
import { GuardPlanner, type GuardViolation } from '../../src/guard/planner.js';
import { policyFromObject } from '../../src/policy/index.js';

const policy = policyFromObject({
  rules: [
    { match: 'session:*', ttl: '24h' },
    { match: 'cache:*', ttl: '1h', jitter: '10%' },
    { match: 'user:*:profile', role: 'durable' },
  ],
});
const H24 = 86_400_000;

describe('guard command table', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['SET', ['k', 'v'], ['k']],
    ['mset', ['a', '1', 'b', '2'], ['a', 'b']],
    ['HSET', ['h', 'f', 'v'], ['h']],
    ['COPY', ['src', 'dst'], ['dst']],
    ['LMOVE', ['src', 'dst', 'LEFT', 'RIGHT'], ['dst']],
    ['BITOP', ['AND', 'dst', 'a', 'b'], ['dst']],
    ['SORT', ['list', 'BY', 'w_*', 'STORE', 'dst'], ['dst']],
    ['SORT', ['list', 'BY', 'w_*'], []],
    ['GEORADIUS', ['g', '1', '2', '3', 'km', 'STOREDIST', 'dst'], ['dst']],
    ['XADD', ['s', '*', 'f', 'v'], ['s']],
    ['XADD', ['s', 'NOMKSTREAM', '*', 'f', 'v'], []],
    ['XGROUP', ['CREATE', 's', 'g', '$', 'MKSTREAM'], ['s']],
    ['XGROUP', ['CREATE', 's', 'g', '$'], []],
    ['XGROUP', ['DESTROY', 's', 'g'], []],
    // By position, never by searching for a token anywhere (issue #15).
    ['SORT', ['list', 'GET', 'store', 'STORE', 'dst'], ['dst']],
    ['SORT', ['list', 'GET', 'store'], []],
    ['SORT', ['list', 'LIMIT', '0', 'STORE', 'ALPHA'], []],
    ['GEORADIUS', ['g', '1', '2', '3', 'km', 'COUNT', '5', 'ANY', 'STORE', 'a', 'STOREDIST', 'b'], ['b']],
    ['GEORADIUSBYMEMBER', ['g', 'store', '3', 'km'], []],
    ['GEORADIUSBYMEMBER', ['g', 'm', '3', 'km', 'STORE', 'dst'], ['dst']],
    ['XADD', ['s', '*', 'f', 'NOMKSTREAM'], ['s']],
    ['XADD', ['s', 'MAXLEN', '~', '10', 'LIMIT', '5', 'NOMKSTREAM', '*', 'f', 'v'], []],
    ['XADD', ['s', 'MINID', '0', '*', 'NOMKSTREAM', 'v'], ['s']],
    ['XGROUP', ['CREATE', 's', 'MKSTREAM', '$'], []],
    ['XGROUP', ['CREATE', 's', 'g', '$', 'ENTRIESREAD', '3', 'MKSTREAM'], ['s']],
    ['COPY', ['src', 'dst', 'REPLACE'], ['dst']],
    ['HSETEX', ['h', 'FNX', 'EX', '10', 'FIELDS', '1', 'f', 'v'], ['h']],
  ];
  for (const [name, args, keys] of cases) {
    it(`${name} ${args.join(' ')} creates [${keys.join(', ')}]`, () => {
      const spec = creatingCommand(name);
      assert.ok(spec);
      assert.deepEqual(createdKeys(spec, args, 0), keys);
      assert.deepEqual(createdKeys(spec, [name, ...args], 1), keys, 'node-redis layout (name at 0)');
    });
  }

  it('reads COPY … DB n as a key in another database, never as the key of that name here', () => {
    const spec = creatingCommand('COPY');
    assert.ok(spec);
    assert.deepEqual(createdKeys(spec, ['src', 'dst', 'DB', '3'], 0), { otherDb: 'dst' });
    assert.deepEqual(createdKeys(spec, ['COPY', 'src', 'dst', 'REPLACE', 'db', '0'], 1), { otherDb: 'dst' });
    const violations: GuardViolation[] = [];
    const planner = new GuardPlanner(policy, { mode: 'default', onViolation: (v) => violations.push(v) });
    assert.equal(planner.single('COPY', ['cache:a', 'session:b', 'DB', '2'], 0), undefined, 'no PEXPIRE in the current database');
    assert.equal(violations[0]?.kind, 'other-db');
    assert.deepEqual(planner.single('COPY', ['cache:a', 'session:b'], 0), [['session:b', H24]]);
    const strict = new GuardPlanner(policy, { mode: 'strict' });
    assert.throws(() => strict.single('copy', ['a', 'session:b', 'DB', '2'], 0), GuardViolationError);
  });

  it('marks the blocking creating commands, which must never run inside MULTI', () => {
    assert.equal(creatingCommand('BLMOVE')?.blocking, true);
    assert.equal(creatingCommand('brpoplpush')?.blocking, true);
    assert.equal(creatingCommand('LMOVE')?.blocking, undefined);
  });

  it('does not treat reads, deletes or TTL-carrying writes as creating', () => {
    for (const name of ['GET', 'HGETALL', 'DEL', 'EXPIRE', 'SETEX', 'PSETEX', 'GETEX', 'LPUSHX', 'RPUSHX', 'EVAL'])
      assert.equal(creatingCommand(name), undefined, name);
  });

  it('covers every command family the product promises', () => {
    const promised =
      'set mset msetnx getset setrange append incr decr incrby decrby incrbyfloat hset hsetnx hmset hincrby hincrbyfloat lpush rpush linsert sadd zadd zincrby xadd pfadd geoadd setbit bitfield copy smove lmove blmove rpoplpush sunionstore zunionstore zrangestore geosearchstore sort bitop pfmerge';
    for (const name of promised.split(' ')) assert.ok(name in CREATING_COMMANDS, name);
  });

  it('reads SET options after the value only: a value spelled "EX" is not an option', () => {
    assert.equal(setTtlMode(['k', 'v'], 0), 'none');
    assert.equal(setTtlMode(['k', 'EX'], 0), 'none');
    assert.equal(setTtlMode(['k', 'v', 'ex', '10'], 0), 'sets');
    assert.equal(setTtlMode(['k', 'v', 'NX', 'PXAT', '1'], 0), 'sets');
    assert.equal(setTtlMode(['k', 'v', 'KEEPTTL'], 0), 'keeps');
    assert.equal(setTtlMode(['SET', 'k', 'v', 'GET'], 1), 'none');
    fc.assert(
      fc.property(fc.string(), fc.string(), (key, value) => setTtlMode([key, value], 0) === 'none' && setTtlMode([key, value, 'PX', '5'], 0) === 'sets'),
    );
  });
});

describe('guard planner', () => {
  const planner = (mode: 'default' | 'strict' | 'warn', extra: { defaultTtlMs?: number; onViolation?: (v: GuardViolation) => void } = {}) =>
    new GuardPlanner(policy, { mode, random: () => 0, ...extra });

  it('default mode: SET gets PX (the TTL as a string), other writes get PEXPIRE … NX, durable and unmatched keys nothing', () => {
    const p = planner('default');
    assert.equal(p.single('set', ['session:1', 'v'], 0), String(H24));
    assert.deepEqual(p.single('set', ['session:1', 'v', 'EX', '5'], 0), undefined);
    assert.deepEqual(p.single('set', ['session:1', 'v', 'KEEPTTL'], 0), [['session:1', H24]]);
    assert.deepEqual(p.single('hset', ['session:1', 'f', 'v'], 0), [['session:1', H24]]);
    assert.deepEqual(p.single('MSET', ['MSET', 'session:1', 'a', 'other', 'b', 'cache:x', 'c'], 1), [
      ['session:1', H24],
      ['cache:x', 3_600_000],
    ]);
    assert.equal(p.single('hset', ['user:1:profile', 'f', 'v'], 0), undefined);
    assert.equal(p.single('hset', ['other', 'f', 'v'], 0), undefined);
    assert.equal(p.single('get', ['session:1'], 0), undefined);
  });

  it('applies jitter through the policy and defaultTtl to unmatched keys (never to durable ones)', () => {
    const jittered = new GuardPlanner(policy, { mode: 'default', random: () => 0.999 });
    const fix = jittered.single('incr', ['cache:a'], 0);
    assert.ok(Array.isArray(fix));
    const [[, ttl]] = fix;
    assert.ok(ttl > 3_600_000 * 0.9 && ttl < 3_600_000);
    const withDefault = planner('default', { defaultTtlMs: 60_000 });
    assert.deepEqual(withDefault.single('lpush', ['jobs', 'x'], 0), [['jobs', 60_000]]);
    assert.equal(withDefault.single('lpush', ['user:7:profile', 'x'], 0), undefined);
  });

  it('matches binary keys byte for byte', () => {
    const key = Buffer.from([0x73, 0x65, 0x73, 0x73, 0x69, 0x6f, 0x6e, 0x3a, 0xff, 0x00]);
    assert.deepEqual(planner('default').single('sadd', [key, 'm'], 0), [[key, H24]]);
  });

  it('strict mode throws a GuardViolationError naming key, pattern and rule; escapes the key', () => {
    const p = planner('strict');
    assert.throws(
      () => p.single('hset', ['session:\u001b[2J', 'f', 'v'], 0),
      (err: unknown) =>
        err instanceof GuardViolationError &&
        err.command === 'HSET' &&
        err.rule?.match === 'session:*' &&
        /"session:\\u001b\[2J"/.test(err.message) &&
        /rules\[0\] \(match "session:\*", ttl 24h\)/.test(err.message),
    );
    assert.equal(p.single('set', ['session:1', 'v', 'PX', '10'], 0), undefined);
    assert.throws(() => planner('strict', { defaultTtlMs: 60_000 }).single('incr', ['x'], 0), /defaultTtl 1m/);
  });

  it('batches: a later TTL on the same key covers a write; strict throws only for uncovered ones', () => {
    const batch = [
      { name: 'incr', args: ['session:r'] },
      { name: 'pexpire', args: ['session:r', '1000', 'NX'] },
      { name: 'hset', args: ['session:h', 'f', 'v'] },
      { name: 'set', args: ['session:s', 'v'] },
      { name: 'set', args: ['session:s', 'w', 'EX', '5'] },
    ];
    const actions = planner('default').planBatch(batch, 0) ?? [];
    assert.equal(actions[0], undefined);
    assert.deepEqual(actions[2], [['session:h', H24]]);
    assert.equal(actions[3], undefined);
    assert.throws(() => planner('strict').planBatch(batch, 0), /session:h/);
    assert.doesNotThrow(() =>
      planner('strict').planBatch(
        batch.filter((c) => c.args[0] !== 'session:h'),
        0,
      ),
    );
  });

  it('batches: only a TTL decided later, on the same key, covers a write', () => {
    const batch = [
      { name: 'expire', args: ['session:a', '30'] },
      { name: 'set', args: ['session:a', 'v'] },
      { name: 'mset', args: ['session:m', '1', 'session:n', '2'] },
      { name: 'set', args: ['session:b', 'v'] },
      { name: 'set', args: ['session:c', 'v', 'EX', '5'] },
      { name: 'pexpire', args: ['session:n', '10'] },
      { name: 'set', args: ['session:c', 'w'] },
    ];
    const actions = planner('default').planBatch(batch, 0) ?? [];
    assert.equal(actions[1], String(H24));
    assert.deepEqual(actions[2], [['session:m', H24]], 'session:n is covered by the PEXPIRE after it');
    assert.equal(actions[3], String(H24));
    assert.equal(actions[6], String(H24));
    assert.equal(planner('default').planBatch(batch.slice(4, 6), 0), undefined);
  });

  it('batches: nothing to change returns undefined (the fast path)', () => {
    assert.equal(
      planner('default').planBatch(
        [
          { name: 'get', args: ['session:1'] },
          { name: 'set', args: ['session:1', 'v', 'EX', '1'] },
        ],
        0,
      ),
      undefined,
    );
  });

  it('warn mode reports every violation and scripts, and survives a throwing onViolation', () => {
    const seen: GuardViolation[] = [];
    const p = planner('warn', { onViolation: (v) => seen.push(v) });
    assert.equal(p.single('lpush', ['session:l', 'x'], 0), undefined);
    assert.equal(p.single('evalsha', ['abc', '0'], 0), undefined);
    assert.deepEqual(
      seen.map((v) => [v.kind, v.command]),
      [
        ['missing-ttl', 'LPUSH'],
        ['script', 'EVALSHA'],
      ],
    );
    const throwing = planner('warn', {
      onViolation: () => {
        throw new Error('boom');
      },
    });
    assert.doesNotThrow(() => throwing.single('lpush', ['session:l', 'x'], 0));
  });
});
