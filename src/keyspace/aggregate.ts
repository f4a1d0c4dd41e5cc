/**
 * Folds KeyRecords into the per-pattern report: pure code, no I/O. When the records are a
 * sample, every figure is scaled to the whole keyspace and given a 95% confidence interval.
 *
 * Estimation: the sample is a hash-spread share of each node's table (see walk/cursor.ts), so
 * it is treated as a simple random sample of n keys out of N (DBSIZE). A pattern's total
 * of any per-key quantity y (1 for counts, bytes for bytes) is estimated as N·ȳ with
 * variance N²·s²/n·(1 − n/N), where ȳ and s² are the sample mean and variance of y over all
 * sampled keys (y = 0 for keys outside the pattern).
 */
import type { Policy, PolicyRule } from '../policy/schema.js';
// Straight from the modules, not the policy index: that would load zod (the schema) for every scan and dump.
import { createMatcher } from '../policy/match.js';
import { displayKey } from '../display.js';
import { createPatternGrouper, inferPattern, type PatternGrouper } from './patterns.js';
import type { KeyRecord } from './record.js';
import { TTL_BUCKETS, type BigKey, type ExpiryCluster, type Interval, type PatternStats, type Totals, type TtlHistogram } from './report.js';
import type { ScanReport } from './report.js';
import { EXPIRY_CLUSTER_KEYS } from './thresholds.js';

interface Acc {
  keys: number;
  bytes: number;
  bytesSq: number;
  noTtlKeys: number;
  noTtlBytes: number;
  noTtlBytesSq: number;
  violations: number;
  /** Keys per type: names in first-seen order, and their counts (no keyed property access per key). */
  typeNames: string[];
  typeCounts: number[];
  ttl: number[];
  /** Latin1 strings (one char per byte): their `<` order is Buffer.compare's, without a native call per key. */
  examples: string[];
}

const EXAMPLES = 3;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Expiry clusters are looked for in the next day: stampedes that matter are near. */
const CLUSTER_HORIZON_MS = DAY;
/** Seconds either side of the first expiry second seen that are counted in a typed array. */
const NEAR_SECONDS = CLUSTER_HORIZON_MS / 1000;

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

export interface Aggregation extends Pick<ScanReport, 'patterns' | 'totals' | 'bigKeys' | 'expiryClusters'> {
  violations: number;
}

function newAcc(): Acc {
  return {
    keys: 0,
    bytes: 0,
    bytesSq: 0,
    noTtlKeys: 0,
    noTtlBytes: 0,
    noTtlBytesSq: 0,
    violations: 0,
    typeNames: [],
    typeCounts: [],
    ttl: [0, 0, 0, 0, 0, 0],
    examples: [],
  };
}

function mergeAcc(into: Acc, from: Acc): void {
  into.keys += from.keys;
  into.bytes += from.bytes;
  into.bytesSq += from.bytesSq;
  into.noTtlKeys += from.noTtlKeys;
  into.noTtlBytes += from.noTtlBytes;
  into.noTtlBytesSq += from.noTtlBytesSq;
  into.violations += from.violations;
  for (let i = 0; i < from.typeNames.length; i++) countType(into, from.typeNames[i], from.typeCounts[i]);
  for (let i = 0; i < TTL_BUCKETS.length; i++) into.ttl[i] += from.ttl[i];
  for (const k of from.examples) addExample(into, Buffer.from(k, 'latin1'), 0, k.length);
}

function countType(acc: Acc, type: string, n: number): void {
  const i = acc.typeNames.indexOf(type);
  if (i >= 0) acc.typeCounts[i] += n;
  else {
    acc.typeNames.push(type);
    acc.typeCounts.push(n);
  }
}

/**
 * The order of key[start, end) against a latin1 string (one char per byte): negative, 0 or
 * positive, as `<` orders latin1 strings (and Buffer.compare the bytes).
 */
function compareKey(key: Uint8Array, start: number, end: number, text: string): number {
  const len = end - start;
  const n = len < text.length ? len : text.length;
  for (let i = 0; i < n; i++) {
    const d = key[start + i] - text.charCodeAt(i);
    if (d !== 0) return d;
  }
  return len - text.length;
}

/**
 * Keep the smallest few keys (latin1): the same examples whatever order keys arrive in. The
 * key is key[start, end), and its string is made only when it is kept.
 */
function addExample(acc: Acc, key: Buffer, start: number, end: number): void {
  const ex = acc.examples;
  if (ex.length === EXAMPLES && compareKey(key, start, end, ex[EXAMPLES - 1]) >= 0) return;
  for (let i = 0; i < ex.length; i++) if (compareKey(key, start, end, ex[i]) === 0) return;
  ex.push(key.toString('latin1', start, end));
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
  /**
   * Keys expiring per second, keyed by seconds after `secondsBase` (examples in latin1): within
   * a day either side of it (all of a dump's, most of a scan's), counts in a typed array (no
   * Map lookup per key) and the first key of each second in `nearExamples`; further out, in
   * `farExpiries` (a long scan anchors its seconds at each batch's arrival).
   */
  private near: Int32Array | undefined;
  private readonly nearExamples = new Map<number, string>();
  private readonly farExpiries = new Map<number, { keys: number; example: string }>();
  private secondsBase: number | undefined;
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
    for (const r of records) this.addKey(r.key, 0, r.key.length, r.db, r.node, r.type, r.ttlMs, r.bytes, r.length, now);
  }

  /**
   * One key, without a KeyRecord: the key is key[start, end), read in place and not kept (the
   * dump reader hands a slice of its read buffer): strings and copies are made only for what
   * the report keeps (examples, big keys, expiry seconds). `now` as in `add`.
   */
  addKey(key: Buffer, start: number, end: number, db: number, node: string, type: string, ttlMs: number, bytes: number, length: number, now: number): void {
    this.keysSeen++;
    this.lastRule = undefined;
    const acc = this.grouper.bucket(key, start, end);
    const b = bytes > 0 ? bytes : 0;
    acc.keys++;
    acc.bytes += b;
    acc.bytesSq += b * b;
    if (ttlMs < 0) {
      acc.noTtlKeys++;
      acc.noTtlBytes += b;
      acc.noTtlBytesSq += b * b;
    }
    // Set by fixedPattern during bucket() above (TypeScript cannot see through the callback).
    const rule = this.lastRule as PolicyRule | undefined;
    if (rule?.ttlMs !== undefined && (ttlMs < 0 || ttlMs > rule.ttlMs)) acc.violations++;
    countType(acc, type, 1);
    acc.ttl[ttlBucket(ttlMs)]++;
    addExample(acc, key, start, end);
    const big = this.big;
    if (big.length < this.top || (big.length > 0 && bytes > big[big.length - 1].bytes)) {
      let i = big.length;
      while (i > 0 && big[i - 1].bytes < bytes) i--;
      // A copy: the caller's buffer is reused.
      big.splice(i, 0, { key: Buffer.from(key.subarray(start, end)), db, node, type, ttlMs, bytes, length });
      if (big.length > this.top) big.pop();
    }
    if (ttlMs >= 0 && ttlMs < CLUSTER_HORIZON_MS) {
      // Seconds from the first one seen: small integers, which a Map hashes without boxing.
      const second = Math.floor((now + ttlMs) / 1000);
      if (this.secondsBase === undefined) this.secondsBase = second;
      const offset = second - this.secondsBase;
      if (offset > -NEAR_SECONDS && offset < NEAR_SECONDS) {
        const near = (this.near ??= new Int32Array(2 * NEAR_SECONDS));
        if (near[offset + NEAR_SECONDS]++ === 0) this.nearExamples.set(offset, key.toString('latin1', start, end));
      } else {
        const slot = this.farExpiries.get(offset);
        if (slot) slot.keys++;
        else this.farExpiries.set(offset, { keys: 1, example: key.toString('latin1', start, end) });
      }
    }
  }

  /**
   * Build the report figures. `sample.population` is N when the records are a sample of N
   * keys (none for a full scan): figures are then scaled by N/n and given intervals.
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
    const rule = this.rulesByGlob.get(pattern);
    const stats: PatternStats = {
      pattern,
      keys: est(acc.keys),
      bytes: est(acc.bytes),
      noTtlKeys: est(acc.noTtlKeys),
      noTtlBytes: est(acc.noTtlBytes),
      types: Object.fromEntries(acc.typeNames.map((t, i) => [t, est(acc.typeCounts[i])])),
      ttl: Object.fromEntries(TTL_BUCKETS.map((b, i) => [b, est(acc.ttl[i])])) as TtlHistogram,
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
    const base = this.secondsBase ?? 0;
    const seconds: Array<{ second: number; keys: number; example: string }> = [];
    const near = this.near ?? new Int32Array(0);
    for (let i = 0; i < near.length; i++) {
      if (near[i] > 0)
        seconds.push({ second: base + i - NEAR_SECONDS, keys: Math.round(near[i] * scale), example: this.nearExamples.get(i - NEAR_SECONDS) ?? '' });
    }
    for (const [offset, v] of this.farExpiries) seconds.push({ second: base + offset, keys: Math.round(v.keys * scale), example: v.example });
    return seconds
      .filter((c) => c.keys >= min)
      .sort((a, b) => b.keys - a.keys || a.second - b.second)
      .slice(0, 10)
      .map(({ second, keys, example }) => ({ second, keys, topPattern: inferPattern(Buffer.from(example, 'latin1')) }));
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
