/**
 * The pure parts of fix, without a server: key decisions, replica-lag parsing, the journal's
 * reading of a torn last line, and starter policies that load back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decideKey, FixTally, journalState, parseReplicaLag } from '../../src/fix/index.js';
import { policyYaml, type PolicySuggestion } from '../../src/policy/suggest.js';
import { ByteSample } from '../../src/fix/byte-sample.js';
import { decodeWriteReply, NOT_SAMPLED } from '../../src/fix/writer.js';
import { TTL_UNKNOWN, type KeyRecord } from '../../src/keyspace/record.js';
import { parsePolicy, type PolicyRule } from '../../src/policy/index.js';

const record = (ttlMs: number): KeyRecord => ({ key: Buffer.from('k'), db: 0, node: 'n:1', type: 'string', ttlMs, bytes: 50, length: 1 });
const rule = (r: Partial<PolicyRule>): PolicyRule => ({ index: 0, match: 'k*', ...r });
const HOUR = 3_600_000;

describe('decideKey', () => {
  const cases: Array<[string, KeyRecord, PolicyRule | undefined, number | undefined, unknown]> = [
    ['no rule: left alone', record(-1), undefined, undefined, { action: 'skip', reason: 'noRule' }],
    ['durable: never a TTL', record(-1), rule({ role: 'durable' }), undefined, { action: 'skip', reason: 'durable' }],
    ['durable even with --max-ttl', record(99 * HOUR), rule({ role: 'durable' }), HOUR, { action: 'skip', reason: 'durable' }],
    ['no TTL: expire', record(-1), rule({ ttlMs: 24 * HOUR }), undefined, { action: 'expire', ttlMs: 24 * HOUR }],
    ['has a TTL: left alone', record(5000), rule({ ttlMs: HOUR }), undefined, { action: 'skip', reason: 'hasTtl' }],
    ['longer TTL with --max-ttl: shorten', record(48 * HOUR), rule({ ttlMs: HOUR }), 24 * HOUR, { action: 'shorten', ttlMs: 24 * HOUR }],
    ['shorter TTL with --max-ttl: left alone', record(HOUR), rule({ ttlMs: HOUR }), 24 * HOUR, { action: 'skip', reason: 'hasTtl' }],
    ['new TTL capped by --max-ttl', record(-1), rule({ ttlMs: 7 * 24 * HOUR }), 24 * HOUR, { action: 'expire', ttlMs: 24 * HOUR }],
  ];
  for (const [name, rec, r, maxTtlMs, expected] of cases) {
    it(name, () => {
      const d = decideKey(rec, r, { maxTtlMs, random: () => 0 });
      const { rule: _rule, ...rest } = d as { rule?: unknown };
      assert.deepEqual(rest, expected);
    });
  }
  it('jitter only shortens, within the rule', () => {
    const d = decideKey(record(-1), rule({ ttlMs: HOUR, jitter: 0.1 }), { random: () => 0.999 });
    assert.equal(d.action, 'expire');
    assert.ok(d.action === 'expire' && d.ttlMs > 0.9 * HOUR && d.ttlMs <= HOUR);
  });
});

describe('decodeWriteReply (fix-expire.lua)', () => {
  const cases: Array<[string, string, number, unknown]> = [
    [
      'set with expiry and bytes, refused, gone',
      '1796221022813/56,0,-',
      3,
      { status: ['set', 'refused', 'gone'], bytes: [56, -1, -1], expiry: [1796221022813, 0, 0] },
    ],
    ['set without bytes (not measured)', '1796221022813,1796221022814', 2, { status: ['set', 'set'], bytes: [-1, -1], expiry: [1796221022813, 1796221022814] }],
    ['one key', '1796221022813/1048632', 1, { status: ['set'], bytes: [1048632], expiry: [1796221022813] }],
    ['no keys', '', 0, { status: [], bytes: [], expiry: [] }],
  ];
  for (const [name, reply, n, expected] of cases) it(name, () => assert.deepEqual(decodeWriteReply(reply, n), expected));
  it('a reply with too few or too many tokens is an error, never a silent shift', () => {
    assert.throws(() => decodeWriteReply('5,0', 3), /2 tokens for 3 keys/);
    assert.throws(() => decodeWriteReply('5,0,0', 2), /3 tokens for 2 keys/);
    assert.throws(() => decodeWriteReply('0', 0), /1 tokens for 0 keys/);
  });
});

describe('FixTally on a keys-only walk (apply)', () => {
  it('counts needTtl, applied and bytes from the write replies, not from the scan', () => {
    const policy = parsePolicy('rules:\n  - match: "s:*"\n    ttl: 1h\n  - match: "d:*"\n    role: durable\n', 'p.yml');
    const tally = new FixTally(policy);
    const keyOnly = (key: string): KeyRecord => ({ key: Buffer.from(key), db: 0, node: 'n:1', type: 'unknown', ttlMs: TTL_UNKNOWN, bytes: -1, length: -1 });
    const replies = { 's:1': ['set', 80], 's:2': ['refused', -1], 's:3': ['gone', -1], 's:4': ['set', 20] } as const;
    for (const key of ['s:1', 's:2', 's:3', 's:4', 'd:1', 'x:1']) {
      const r = keyOnly(key);
      const d = decideKey(r, tally.matcher.match(r.key));
      tally.plan(r, d);
      if (key in replies) {
        const [status, bytes] = replies[key as keyof typeof replies];
        tally.written(d, r.key, status, bytes);
      }
    }
    const [s] = tally.summaries();
    assert.deepEqual(
      {
        matched: s.matched,
        needTtl: s.needTtl,
        applied: s.applied,
        alreadyHadTtl: s.alreadyHadTtl,
        changedSinceScan: s.changedSinceScan,
        bytes: s.bytes,
        examples: s.examples,
      },
      { matched: 4, needTtl: 2, applied: 2, alreadyHadTtl: 1, changedSinceScan: 1, bytes: 100, examples: ['s:1', 's:4'] },
    );
    const t = tally.totals(1000, 0);
    assert.deepEqual([t.keysScanned, t.durable, t.noRule], [6, 1, 1]);
  });
});

describe('the measured sample of bytes freed (apply)', () => {
  const expire = (index: number) => ({ action: 'expire' as const, rule: rule({ index, ttlMs: HOUR }), ttlMs: HOUR });
  it("measures each rule's first keys, then one in `every`, counted per rule across calls", () => {
    const sample = new ByteSample(2, 3);
    assert.equal(sample.mask([expire(0), expire(0)]), true, 'every key measured: no mask');
    // rule 0: its keys 3, 4, 5, 6, of which 3 and 6 are measured; rule 1: its first two.
    assert.equal(sample.mask([expire(0), expire(1), expire(0), expire(1), expire(0), expire(0)]), '110101');
    assert.equal(sample.mask([expire(1)]), true, "rule 1's third key");
    assert.equal(sample.mask([expire(1)]), '0', 'a mask of one key');
  });
  it('decodes a masked reply: a set key left out is NOT_SAMPLED, one measured but unanswered is -1', () => {
    assert.deepEqual(decodeWriteReply('5/80,6,0,7,-', 5, '11100').bytes, [80, -1, -1, NOT_SAMPLED, -1]);
    assert.deepEqual(decodeWriteReply('5', 1, '0').bytes, [NOT_SAMPLED]);
    assert.deepEqual(decodeWriteReply('5', 1, '1').bytes, [-1]);
  });
  it("scales each rule's measured bytes to the keys it wrote; a rule with none measured takes the mean of all", () => {
    const policy = parsePolicy('rules:\n  - match: "a:*"\n    ttl: 1h\n  - match: "b:*"\n    ttl: 1h\n', 'p.yml');
    const tally = new FixTally(policy);
    const write = (key: string, bytes: number) => {
      const r: KeyRecord = { key: Buffer.from(key), db: 0, node: 'n:1', type: 'unknown', ttlMs: TTL_UNKNOWN, bytes: -1, length: -1 };
      const d = decideKey(r, tally.matcher.match(r.key));
      tally.plan(r, d);
      tally.written(d, r.key, 'set', bytes);
    };
    assert.equal(tally.bytesEstimated, false);
    write('a:1', 100);
    write('a:2', 300);
    for (let i = 3; i <= 10; i++) write(`a:${i}`, NOT_SAMPLED);
    write('b:1', NOT_SAMPLED);
    write('b:2', NOT_SAMPLED);
    assert.equal(tally.bytesEstimated, true);
    const [a, b] = tally.summaries();
    assert.equal(a.bytes, 2000, '400 bytes over 2 measured keys, for 10 written');
    assert.equal(b.bytes, 400, 'no key of b measured: the mean of all measured keys (200) for 2');
    assert.equal(tally.totals(1, 0).bytes, 2400);
    assert.equal(a.applied + b.applied, 12);
  });
  it('is exact when every key written was measured', () => {
    const tally = new FixTally(parsePolicy('rules:\n  - match: "a:*"\n    ttl: 1h\n', 'p.yml'));
    const r: KeyRecord = { key: Buffer.from('a:1'), db: 0, node: 'n:1', type: 'unknown', ttlMs: TTL_UNKNOWN, bytes: -1, length: -1 };
    const d = decideKey(r, tally.matcher.match(r.key));
    tally.written(d, r.key, 'set', 123);
    assert.equal(tally.bytesEstimated, false);
    assert.equal(tally.totals(1, 0).bytes, 123);
  });
});

describe('parseReplicaLag', () => {
  const info = (offset: number, lag: number, state = 'online') =>
    `# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.2,port=6380,state=${state},offset=${offset},lag=${lag}\r\nmaster_repl_offset:1000\r\n`;
  it('lag counts only when the replica is behind', () => {
    assert.deepEqual(parseReplicaLag(info(900, 7)), [{ replica: '10.0.0.2:6380', lagMs: 7000, behindBytes: 100 }]);
    assert.deepEqual(parseReplicaLag(info(1000, 7)), [{ replica: '10.0.0.2:6380', lagMs: 0, behindBytes: 0 }]);
  });
  it('a replica still syncing is infinitely behind', () => {
    assert.equal(parseReplicaLag(info(0, 0, 'wait_bgsave'))[0].lagMs, Infinity);
  });
  it('no replicas, no lag', () => {
    assert.deepEqual(parseReplicaLag('# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n'), []);
  });
});

describe('journal', () => {
  it('keeps the last checkpoint per node and ignores a torn last line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keywarden-journal-')), 'j.jsonl');
    const cp = (node: string, cursor: string) => ({ node, db: 0, cursor, done: false });
    writeFileSync(
      file,
      [
        JSON.stringify({ t: 'start', v: 2, target: 'redis://x', mode: 'standalone', policy: { rules: [] }, runIds: { 'a:1': 'r1' }, resume: false, at: '' }),
        JSON.stringify({ t: 'set', b: '1.1', node: 'a:1', db: 0, at: 0, op: 'nx', keys: ['AA=='], ttlMs: [1000] }),
        JSON.stringify({ t: 'done', b: '1.1', refused: [0], exp: [0], cp: cp('a:1', '12') }),
        JSON.stringify({ t: 'cp', cp: cp('a:1', '34') }),
        JSON.stringify({ t: 'cp', cp: cp('b:2', '56') }),
        '{"t":"done","b":"1.2","refu',
      ].join('\n'),
    );
    const state = await journalState(file);
    assert.equal(state.runs, 1);
    assert.deepEqual(state.checkpoints, [
      { ...cp('a:1', '34'), runId: 'r1' },
      { ...cp('b:2', '56'), runId: undefined },
    ]);
    assert.deepEqual([...state.refused], [['1.1', [0]]]);
  });
  it('counts the keys undo will go through (its progress bar total)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keywarden-journal-')), 'j.jsonl');
    const set = (b: string, keys: string[], keysOnly: boolean) =>
      JSON.stringify({ t: 'set', b, node: 'a:1', db: 0, at: 0, op: 'nx', keys, ttlMs: keys.map(() => 1000), ...(keysOnly ? { keysOnly: true } : {}) });
    writeFileSync(
      file,
      [
        JSON.stringify({ t: 'start', v: 2, target: 'redis://x', mode: 'standalone', policy: { rules: [] }, resume: false, at: '' }),
        set('1.1', ['AA==', 'AQ==', 'Ag=='], true),
        JSON.stringify({ t: 'done', b: '1.1', refused: [1] }),
        set('1.2', ['Aw==', 'BA=='], false),
        JSON.stringify({ t: 'done', b: '1.2', refused: [0] }),
        set('1.3', [], true),
      ].join('\n'),
    );
    // keys-only: a refused key had its own TTL and is not fix's; otherwise it is counted (skipped as refused).
    assert.equal((await journalState(file)).journaledKeys, 2 + 2);
  });
  it('a damaged line in the middle is an error, not silently skipped', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keywarden-journal-')), 'j.jsonl');
    const start = JSON.stringify({ t: 'start', v: 2, target: 'redis://x', mode: 'standalone', policy: { rules: [] }, resume: false, at: '' });
    writeFileSync(file, [start, '{"t":"cp",', JSON.stringify({ t: 'end', complete: true, totals: {} })].join('\n'));
    await assert.rejects(journalState(file), /damaged at line 2/);
  });
});

describe('policyYaml', () => {
  it('writes a commented policy that loads back, control bytes escaped in comments', () => {
    const suggestion: PolicySuggestion = {
      target: 'redis://127.0.0.1:6379',
      keysSampled: 1000,
      dbsize: 100_000,
      otherKeys: 3,
      withheld: [{ match: '*:*', sampled: 60, reason: 'catch-all' }],
      rules: [
        {
          match: 'session:*',
          ttlMs: 24 * HOUR,
          role: 'session',
          keys: 50_000,
          sampled: 500,
          noTtlShare: 1,
          bytes: 5_000_000,
          basis: 'name',
          examples: ['session:\\x1b[31m'],
        },
        {
          match: 'cache:*',
          ttlMs: HOUR,
          role: 'cache',
          jitter: 0.1,
          keys: 40_000,
          sampled: 400,
          noTtlShare: 0.2,
          bytes: 1000,
          observedTtl: { p50: 1_800_000, p90: 3_000_000 },
          basis: 'observed',
          examples: [],
        },
        { match: 'user:*:profile', role: 'durable', keys: 10_000, sampled: 100, noTtlShare: 1, bytes: 1000, basis: 'review', examples: [] },
      ],
    };
    const yaml = policyYaml(suggestion, new Date('2026-01-01T00:00:00Z'));
    const policy = parsePolicy(yaml, 'init.yml');
    assert.deepEqual(
      policy.rules.map((r) => [r.match, r.ttlMs, r.role, r.jitter]),
      [
        ['session:*', 24 * HOUR, 'session', undefined],
        ['cache:*', HOUR, 'cache', 0.1],
        ['user:*:profile', undefined, 'durable', undefined],
      ],
    );
    assert.match(yaml, /# ~50,000 keys, 4\.77 MiB, 100% without TTL; no TTL seen; ttl from the name \(session\); e\.g\. session:\\x1b\[31m/);
    assert.match(yaml, /TTLs seen: median 30m, p90 50m/);
    assert.match(yaml, /REVIEW/);
    assert.match(yaml, /# no rule for "\*:\*" \(60 sampled keys\): a rule without a literal part/);
    assert.deepEqual(policy.alerts, { noTtlKeys: 1000, memoryUsedRatio: 0.8, evictions: true, noTtlGrowth: { window: 900_000, minIncrease: 1000 } });
    assert.ok(!yaml.includes(String.fromCharCode(0x1b)), 'a raw ESC reached the YAML');
  });
});
