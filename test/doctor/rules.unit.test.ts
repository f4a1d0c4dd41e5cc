/** Rules on hand-built facts (no server): edge cases that are hard to stage on a real one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RULES, runRules } from '../../src/doctor/index.js';
import type { NodeFacts } from '../../src/doctor/facts.js';
import { safeText } from '../../src/doctor/format.js';
import type { PatternStats, ScanReport } from '../../src/keyspace/report.js';
import { BIG_KEY, BIG_KEY_TEXT, EXPIRY_CLUSTER_KEYS, isBigKey } from '../../src/keyspace/thresholds.js';

const MB = 1024 * 1024;

function node(info: Record<string, string | number>, config: Record<string, string> = {}): NodeFacts {
  return {
    label: '10.0.0.1:6379',
    source: 'live',
    role: 'master',
    info: Object.fromEntries(Object.entries({ used_memory: 1 * MB, evicted_keys: 0, ...info }).map(([k, v]) => [k, String(v)])),
    config: { maxmemory: '0', 'maxmemory-policy': 'noeviction', save: '', appendonly: 'no', ...config },
    unavailable: {},
  };
}

function pattern(p: Partial<PatternStats> & { pattern: string }): PatternStats {
  return { keys: 0, bytes: 0, noTtlKeys: 0, noTtlBytes: 0, types: {}, ttl: { none: 0, lt1m: 0, lt1h: 0, lt1d: 0, lt7d: 0, ge7d: 0 }, examples: [], ...p };
}

function sample(patterns: PatternStats[], extra: Partial<ScanReport> = {}): ScanReport {
  const totals = { keys: 0, bytes: 0, noTtlKeys: 0, noTtlBytes: 0 };
  for (const p of patterns) for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += p[k];
  return {
    kind: 'keywarden.scan',
    schemaVersion: 1,
    target: { url: 'redis://10.0.0.1:6379', mode: 'standalone', redisVersion: '7.2.0', nodes: [] },
    coverage: {
      complete: true,
      sampled: false,
      keysSeen: totals.keys,
      dbsize: totals.keys,
      vanished: 0,
      unmeasured: [],
      method: 'lua',
      durationMs: 1,
      keysPerSecond: 1,
    },
    totals,
    patterns,
    bigKeys: [],
    expiryClusters: [],
    ...extra,
  };
}

const run = (id: string, nodes: NodeFacts[], s?: ScanReport, policy?: Parameters<typeof runRules>[1]['policy']) =>
  runRules(
    RULES.filter((r) => r.id === id),
    { nodes, mode: 'standalone', sample: s, policy },
  );

test('every rule has a unique id, a title, a why, and a default severity', () => {
  const seen = new Set<string>();
  for (const r of RULES) {
    assert.ok(!seen.has(r.id), r.id);
    seen.add(r.id);
    assert.match(r.id, /^[a-z]+(-[a-z]+)*$/);
    assert.ok(r.title && r.why.length > 20, r.id);
  }
  assert.ok(RULES.length >= 28);
});

test('swapping: RSS well below used memory on a large instance; quiet on a small one', () => {
  assert.equal(run('swapping', [node({ used_memory: 512 * MB, used_memory_rss: 300 * MB })]).findings[0]?.severity, 'critical');
  assert.deepEqual(run('swapping', [node({ used_memory: 2 * MB, used_memory_rss: 1 * MB })]).findings, []);
  assert.deepEqual(run('swapping', [node({ used_memory: 512 * MB, used_memory_rss: 520 * MB })]).findings, []);
});

test('persistence-failing on an AOF write error', () => {
  const f = run('persistence-failing', [node({ rdb_last_bgsave_status: 'ok', aof_last_write_status: 'err', aof_last_bgrewrite_status: 'ok' })]).findings[0];
  assert.deepEqual(f.evidence.failed, ['aof_last_write_status']);
});

test('keys-without-ttl: any key without TTL under a rule that has one, even below the threshold', () => {
  const s = sample([
    pattern({ pattern: 'session:*', keys: 10, noTtlKeys: 5, noTtlBytes: 500, rule: { match: 'session:*', ttlMs: 86_400_000, role: 'session' } }),
  ]);
  const f = run('keys-without-ttl', [node({})], s).findings[0];
  assert.deepEqual(f.evidence.patternsAgainstPolicy, ['session:*']);
  assert.match(f.detail, /policy: 1d|policy: 24h/);
  const durable = sample([pattern({ pattern: 'user:*', keys: 5000, noTtlKeys: 5000, rule: { match: 'user:*', role: 'durable' } })]);
  assert.deepEqual(run('keys-without-ttl', [node({})], durable).findings, [], 'durable data is meant to have no TTL');
});

test('persistence-off-for-durable-data: warning for durable data, info for sessions by name, quiet for caches', () => {
  const durable = sample([pattern({ pattern: 'order:*', keys: 10, rule: { match: 'order:*', role: 'durable' } })]);
  assert.equal(run('persistence-off-for-durable-data', [node({})], durable).findings[0].severity, 'warning');
  assert.equal(run('persistence-off-for-durable-data', [node({})], sample([pattern({ pattern: 'sess:*', keys: 10 })])).findings[0].severity, 'info');
  assert.deepEqual(run('persistence-off-for-durable-data', [node({})], sample([pattern({ pattern: 'cache:*', keys: 10 })])).findings, []);
  assert.deepEqual(run('persistence-off-for-durable-data', [node({}, { appendonly: 'yes' })], durable).findings, []);
});

test("expiry-stampede fires at the shared threshold, on the report's (already estimated) clusters", () => {
  const at = (keys: number) =>
    sample([pattern({ pattern: 'promo:*', keys: 100 })], { expiryClusters: [{ second: 1_900_000_000, keys, topPattern: 'promo:*' }] });
  assert.deepEqual(run('expiry-stampede', [node({})], at(EXPIRY_CLUSTER_KEYS - 1)).findings, []);
  assert.equal(run('expiry-stampede', [node({})], at(EXPIRY_CLUSTER_KEYS)).findings[0].evidence.largestKeys, EXPIRY_CLUSTER_KEYS);
});

test('one big-key threshold: big-keys and lazyfree-off-with-big-keys agree on it, and a 1 MB zset is neither', () => {
  const key = (bytes: number, length: number) => ({ key: 'k', db: 0, node: '10.0.0.1:6379', type: 'zset', bytes, length, ttlMs: -1 });
  const cases = [
    { what: '1 MB, 10k elements', k: key(1 * MB, 10_000), big: false },
    { what: 'just under 10 MB', k: key(BIG_KEY.bytes - 1, 100), big: false },
    { what: '10 MB', k: key(BIG_KEY.bytes, 100), big: true },
    { what: '1M small elements', k: key(4 * MB, BIG_KEY.elements), big: true },
  ];
  for (const c of cases) {
    const s = sample([pattern({ pattern: 'k', keys: 1 })], { bigKeys: [c.k] });
    const lazy = run(
      'lazyfree-off-with-big-keys',
      [node({}, { 'lazyfree-lazy-eviction': 'no', 'lazyfree-lazy-expire': 'yes', 'lazyfree-lazy-server-del': 'yes', 'lazyfree-lazy-user-del': 'yes' })],
      s,
    );
    assert.equal(run('big-keys', [node({})], s).findings.length, c.big ? 1 : 0, c.what);
    assert.equal(lazy.findings.length, c.big ? 1 : 0, c.what);
    assert.equal(isBigKey(c.k), c.big, c.what);
  }
  const why = RULES.filter((r) => r.id === 'big-keys' || r.id === 'lazyfree-off-with-big-keys').map((r) => r.why);
  for (const w of why) assert.ok(w.includes(BIG_KEY_TEXT), w);
});

test('findings from a sample carry its coverage: an interval for shares, the scan command for single keys', () => {
  const s = sample(
    [pattern({ pattern: 'session:*', keys: 820, bytes: 8200, noTtlKeys: 820, noTtlBytes: 8200 }), pattern({ pattern: 'cache:*', keys: 180, bytes: 1800 })],
    {
      bigKeys: [{ key: 'blob', db: 0, node: '10.0.0.1:6379', type: 'string', bytes: 12 * MB, length: 12 * MB, ttlMs: -1 }],
    },
  );
  s.coverage = { ...s.coverage, sampled: true, complete: false, keysSeen: 10_000, dbsize: 4_200_000 };
  s.totals.ci = { noTtlKeysShare: [0.81, 0.83], noTtlBytesShare: [0.812, 0.828] };
  const keyspace = {
    read: 'sample' as const,
    keysRead: 10_000,
    dbsize: 4_200_000,
    durationMs: 80,
    budgetMs: 5000,
    scanCommand: 'keywarden scan redis://10.0.0.1:6379',
  };
  const nodes = [node({}, { maxmemory: String(100 * MB), 'maxmemory-policy': 'noeviction' })];
  const { findings } = runRules(RULES, { nodes, mode: 'standalone', sample: s, keyspace });
  const risk = findings.find((f) => f.id === 'noeviction-full-risk');
  assert.match(risk?.detail ?? '', /no TTL on an estimated 82% ± 1% of bytes \(from 10,000 of 4,200,000 keys\)/);
  assert.deepEqual(risk?.coverage, { read: 'sample', keysRead: 10_000, dbsize: 4_200_000, interval: [0.812, 0.828] });
  const big = findings.find((f) => f.id === 'big-keys');
  assert.match(
    big?.detail ?? '',
    /from a sample of 10,000 of 4,200,000 keys: keys outside it may be missed; keywarden scan redis:\/\/10\.0\.0\.1:6379 reads them all/,
  );
  assert.equal(big?.coverage?.mayMiss, 'keywarden scan redis://10.0.0.1:6379');
  // Every key read: the same findings, no estimate, no caveat.
  const all = runRules(RULES, {
    nodes,
    mode: 'standalone',
    sample: { ...s, coverage: { ...s.coverage, sampled: false, complete: true }, totals: { ...s.totals, ci: undefined } },
    keyspace: { ...keyspace, read: 'all' },
  });
  const allBig = all.findings.find((f) => f.id === 'big-keys');
  assert.doesNotMatch(allBig?.detail ?? '', /sample/);
  assert.deepEqual(allBig?.coverage, { read: 'all', keysRead: 10_000, dbsize: 4_200_000 });
  assert.equal(
    all.findings.find((f) => f.id === 'maxmemory-unset'),
    undefined,
  );
  assert.equal(all.findings.find((f) => f.id === 'auth-disabled')?.coverage, undefined, 'findings that do not read the keyspace carry no coverage');
});

test('slowlog entries of the doctor itself are ignored', () => {
  const n = node({});
  n.slowlog = [{ id: 1, timestamp: 1, durationUs: 50_000, args: ['KEYS', '*'], client: '127.0.0.1:5', clientName: 'keywarden' }];
  assert.deepEqual(run('dangerous-commands-in-slowlog', [n]).findings, []);
});

test('a missing fact skips the check with its reason; a throwing check is skipped, not fatal', () => {
  const n: NodeFacts = { label: 'x:1', source: 'live', role: 'master', unavailable: { info: 'INFO is not allowed for this user (NOPERM)' } };
  const { findings, skipped } = run('evictions-occurring', [n]);
  assert.deepEqual(findings, []);
  assert.deepEqual(skipped, [{ id: 'evictions-occurring', reason: 'INFO is not allowed for this user (NOPERM)', node: 'x:1' }]);
  const broken = runRules(
    [
      {
        ...RULES[0],
        scope: 'node',
        check: () => {
          throw new Error('boom');
        },
      } as (typeof RULES)[number],
    ],
    { nodes: [node({})] },
  );
  assert.match(broken.skipped[0].reason, /check failed: boom/);
});

test('safeText escapes terminal control and bidi characters, and is idempotent on escaped text', () => {
  const table: Array<[string, string]> = [
    ['plain:key', 'plain:key'],
    ['a\x1b[31mred', 'a\\x1b[31mred'],
    ['line\nbreak', 'line\\nbreak'],
    ['rtl\u202eevil', 'rtl\\u202eevil'],
    ['already\\x1b', 'already\\x1b'],
  ];
  for (const [input, expected] of table) assert.equal(safeText(input), expected);
});
