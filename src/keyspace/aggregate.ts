/**
 * Folds KeyRecords into the per-pattern report: pure code, no I/O. When the records are a
 * sample, every figure is scaled to the whole keyspace and given a 95% confidence interval.
 *
 * Estimation: the sample is a hash-spread share of each node's table (see cursor.ts), so
 * it is treated as a simple random sample of n keys out of N (DBSIZE). A pattern's total
 * of any per-key quantity y (1 for counts, bytes for bytes) is estimated as N·ȳ with
 * variance N²·s²/n·(1 − n/N), where ȳ and s² are the sample mean and variance of y over all
 * sampled keys (y = 0 for keys outside the pattern).
 */
import type { Policy, PolicyRule } from '../policy/index.js';
import { createMatcher } from '../policy/index.js';
import { displayKey } from './display.js';
import { createPatternGrouper, inferPattern, type PatternGrouper } from './patterns.js';
import type { KeyRecord } from './record.js';
import type { BigKey, ExpiryCluster, Interval, PatternStats, Totals, TtlHistogram } from './report.js';
import { EXPIRY_CLUSTER_KEYS } from './thresholds.js';

interface Acc {
  keys: number;
  bytes: number;
  bytesSq: number;
  noTtlKeys: number;
  noTtlBytes: number;
  noTtlBytesSq: number;
  violations: number;
  types: Record<string, number>;
  ttl: number[];
  /** Latin1 strings (one char per byte): their `<` order is Buffer.compare's, without a native call per key. */
  examples: string[];
}

const EXAMPLES = 3;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Expiry clusters are looked for in the next day: stampedes that matter are near. */
const CLUSTER_HORIZON_MS = DAY;

export interface AggregateOptions {
  policy?: Policy;
  /** Biggest keys to keep. Default 10. */
  top?: number;
  maxPatterns?: number;
  /** Keys expiring in the same second (estimated, when sampled) that make a cluster. Default EXPIRY_CLUSTER_KEYS. */
  clusterMin?: number;
  /** Fixed wall clock for absolute expiry seconds (tests); default: when each batch arrives. */
  now?: number;
}

export interface Aggregation {
  patterns: PatternStats[];
  totals: Totals;
  bigKeys: BigKey[];
  expiryClusters: ExpiryCluster[];
  violations: number;
}

function newAcc(): Acc {
  return { keys: 0, bytes: 0, bytesSq: 0, noTtlKeys: 0, noTtlBytes: 0, noTtlBytesSq: 0, violations: 0, types: {}, ttl: [0, 0, 0, 0, 0, 0], examples: [] };
}

function mergeAcc(into: Acc, from: Acc): void {
  into.keys += from.keys;
  into.bytes += from.bytes;
  into.bytesSq += from.bytesSq;
  into.noTtlKeys += from.noTtlKeys;
  into.noTtlBytes += from.noTtlBytes;
  into.noTtlBytesSq += from.noTtlBytesSq;
  into.violations += from.violations;
  for (const [t, n] of Object.entries(from.types)) into.types[t] = (into.types[t] ?? 0) + n;
  for (let i = 0; i < 6; i++) into.ttl[i] += from.ttl[i];
  for (const k of from.examples) addExample(into, k);
}

/** Keep the smallest few keys (latin1): the same examples whatever order keys arrive in. */
function addExample(acc: Acc, key: string): void {
  const ex = acc.examples;
  if (ex.length === EXAMPLES && key >= ex[EXAMPLES - 1]) return;
  if (ex.includes(key)) return;
  ex.push(key);
  ex.sort();
  if (ex.length > EXAMPLES) ex.pop();
}

function ttlBucket(ttlMs: number): number {
  if (ttlMs < 0) return 0;
  if (ttlMs < 60_000) return 1;
  if (ttlMs < HOUR) return 2;
  if (ttlMs < DAY) return 3;
  if (ttlMs < 7 * DAY) return 4;
  return 5;
}

/** Streaming aggregator: `add` batches as they arrive, `finish` once. */
export class Aggregator {
  private readonly grouper: PatternGrouper<Acc>;
  private readonly rulesByGlob = new Map<string, PolicyRule>();
  private lastRule: PolicyRule | undefined;
  private readonly top: number;
  private readonly big: KeyRecord[] = [];
  private readonly expiries = new Map<number, { keys: number; example: Buffer }>();
  keysSeen = 0;

  constructor(private readonly options: AggregateOptions = {}) {
    this.top = options.top ?? 10;
    const matcher = options.policy ? createMatcher(options.policy) : undefined;
    for (const rule of options.policy?.rules ?? []) if (!this.rulesByGlob.has(rule.match)) this.rulesByGlob.set(rule.match, rule);
    this.grouper = createPatternGrouper<Acc>({
      create: newAcc,
      merge: mergeAcc,
      maxPatterns: options.maxPatterns,
      fixedPattern: matcher
        ? (key) => {
            this.lastRule = matcher.match(key);
            return this.lastRule?.match;
          }
        : undefined,
    });
  }

  add(records: readonly KeyRecord[]): void {
    // TTLs are relative to when they were read: anchor expiry seconds at arrival, not at
    // the start of a long scan, or one second's keys would smear over several.
    const now = this.options.now ?? Date.now();
    for (const r of records) this.addOne(r, now);
  }

  private addOne(r: KeyRecord, now: number): void {
    this.keysSeen++;
    this.lastRule = undefined;
    const text = r.key.toString('latin1');
    const acc = this.grouper.bucket(r.key, text);
    const bytes = r.bytes > 0 ? r.bytes : 0;
    acc.keys++;
    acc.bytes += bytes;
    acc.bytesSq += bytes * bytes;
    if (r.ttlMs < 0) {
      acc.noTtlKeys++;
      acc.noTtlBytes += bytes;
      acc.noTtlBytesSq += bytes * bytes;
    }
    // Set by fixedPattern during bucket() above (TypeScript cannot see through the callback).
    const rule = this.lastRule as PolicyRule | undefined;
    if (rule?.ttlMs !== undefined && (r.ttlMs < 0 || r.ttlMs > rule.ttlMs)) acc.violations++;
    acc.types[r.type] = (acc.types[r.type] ?? 0) + 1;
    acc.ttl[ttlBucket(r.ttlMs)]++;
    addExample(acc, text);
    this.trackBig(r);
    if (r.ttlMs >= 0 && r.ttlMs < CLUSTER_HORIZON_MS) {
      const second = Math.floor((now + r.ttlMs) / 1000);
      const slot = this.expiries.get(second);
      if (slot) slot.keys++;
      else this.expiries.set(second, { keys: 1, example: r.key });
    }
  }

  private trackBig(r: KeyRecord): void {
    const big = this.big;
    if (big.length === this.top && r.bytes <= big[big.length - 1].bytes) return;
    let i = big.length;
    while (i > 0 && big[i - 1].bytes < r.bytes) i--;
    big.splice(i, 0, r);
    if (big.length > this.top) big.pop();
  }

  /**
   * Build the report figures. `scale` is N/n when the records are a sample of N keys
   * (1 for a full scan); intervals are given only when sampled.
   */
  finish(sample?: { population: number }): Aggregation {
    const n = this.keysSeen;
    const sampled = sample !== undefined && n > 0 && sample.population > n;
    const N = sampled ? sample.population : n;
    const groups = this.grouper.finish();
    const patterns = groups.map(({ pattern, stats }) => this.patternStats(pattern, stats, n, N, sampled));
    patterns.sort((a, b) => b.bytes - a.bytes || b.keys - a.keys || (a.pattern < b.pattern ? -1 : 1));
    const totals: Totals = { keys: 0, bytes: 0, noTtlKeys: 0, noTtlBytes: 0 };
    let violations = 0;
    for (const p of patterns) {
      totals.keys += p.keys;
      totals.bytes += p.bytes;
      totals.noTtlKeys += p.noTtlKeys;
      totals.noTtlBytes += p.noTtlBytes;
      violations += p.violations ?? 0;
    }
    if (sampled) {
      const raw = newAcc();
      for (const g of groups) mergeAcc(raw, g.stats);
      totals.ci = {
        noTtlKeysShare: shareInterval(raw.noTtlKeys, n, raw.noTtlKeys, raw.noTtlKeys, n, n, N),
        noTtlBytesShare: shareInterval(raw.noTtlBytes, raw.bytes, raw.noTtlBytesSq, raw.noTtlBytesSq, raw.bytesSq, n, N),
      };
    }
    return { patterns, totals, bigKeys: this.big.map(bigKey), expiryClusters: this.clusters(n > 0 ? N / n : 1), violations };
  }

  private patternStats(pattern: string, acc: Acc, n: number, N: number, sampled: boolean): PatternStats {
    const scale = n > 0 ? N / n : 1;
    const est = (x: number) => Math.round(x * scale);
    const ttl = Object.fromEntries(['none', 'lt1m', 'lt1h', 'lt1d', 'lt7d', 'ge7d'].map((b, i) => [b, est(acc.ttl[i])])) as TtlHistogram;
    const rule = this.rulesByGlob.get(pattern);
    const stats: PatternStats = {
      pattern,
      keys: est(acc.keys),
      bytes: est(acc.bytes),
      noTtlKeys: est(acc.noTtlKeys),
      noTtlBytes: est(acc.noTtlBytes),
      types: Object.fromEntries(Object.entries(acc.types).map(([t, c]) => [t, est(c)])),
      ttl,
      examples: acc.examples.map((k) => displayKey(Buffer.from(k, 'latin1'))),
    };
    if (rule) {
      stats.rule = { match: rule.match, ttlMs: rule.ttlMs, role: rule.role };
      stats.violations = est(acc.violations);
    }
    if (sampled) {
      stats.ci = {
        keys: interval(acc.keys, acc.keys, n, N),
        bytes: interval(acc.bytes, acc.bytesSq, n, N),
        noTtlKeys: interval(acc.noTtlKeys, acc.noTtlKeys, n, N),
        noTtlBytes: interval(acc.noTtlBytes, acc.noTtlBytesSq, n, N),
      };
    }
    return stats;
  }

  /** Seconds in which at least `clusterMin` keys expire, counted (or, sampled, estimated: × `scale`). */
  private clusters(scale: number): ExpiryCluster[] {
    const min = this.options.clusterMin ?? EXPIRY_CLUSTER_KEYS;
    return [...this.expiries.entries()]
      .map(([second, v]) => ({ second, keys: Math.round(v.keys * scale), example: v.example }))
      .filter((c) => c.keys >= min)
      .sort((a, b) => b.keys - a.keys || a.second - b.second)
      .slice(0, 10)
      .map(({ second, keys, example }) => ({ second, keys, topPattern: inferPattern(example) }));
  }
}

/** 95% interval for N·ȳ from a sample with Σy = sum and Σy² = sumSq. */
export function interval(sum: number, sumSq: number, n: number, N: number): Interval {
  if (n < 2) return [0, N * (n > 0 ? sum / n : 0)];
  const mean = sum / n;
  const variance = Math.max((sumSq - n * mean * mean) / (n - 1), 0);
  const fpc = Math.max(1 - n / N, 0);
  const half = 1.96 * N * Math.sqrt((variance / n) * fpc);
  const estimate = N * mean;
  return [Math.max(Math.round(estimate - half), sum > 0 ? Math.round(sum) : 0), Math.round(estimate + half)];
}

/**
 * 95% interval for the share R = Σy/Σx of a sample of n keys out of N (ratio estimator):
 * var(R) ≈ (1 − n/N) · s_d² / (n · x̄²), with d = y − R·x, so s_d² = (Σy² − 2RΣxy + R²Σx²)/(n − 1).
 * For the share of keys without TTL, x = 1 and y is 0 or 1.
 */
export function shareInterval(sumY: number, sumX: number, sumYY: number, sumXY: number, sumXX: number, n: number, N: number): Interval {
  if (sumX <= 0 || n < 2) return [0, 1];
  const r = sumY / sumX;
  const sd2 = Math.max((sumYY - 2 * r * sumXY + r * r * sumXX) / (n - 1), 0);
  const meanX = sumX / n;
  const half = 1.96 * Math.sqrt((Math.max(1 - n / N, 0) * sd2) / (n * meanX * meanX));
  return [Math.max(r - half, 0), Math.min(r + half, 1)];
}

function bigKey(r: KeyRecord): BigKey {
  return { key: displayKey(r.key), db: r.db, node: r.node, type: r.type, bytes: r.bytes, length: r.length, ttlMs: r.ttlMs };
}
