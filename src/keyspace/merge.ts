/**
 * `mergeReports`: many scan/rdb reports (one per shard, per dump, per batch job) added up
 * into one. Patterns are matched by name, so shards that infer the same pattern add up;
 * big keys and expiry clusters are re-ranked over the union. Pure code, no I/O.
 *
 * Limits, said once: an expiry second below the cluster threshold in every shard stays
 * hidden (each report kept only its clusters); examples are the smallest of each report's.
 */
import type { BigKey, DumpFileInfo, ExpiryCluster, Interval, PatternStats, ScanReport } from './report.js';
import { TTL_BUCKETS } from './report.js';

const EXAMPLES = 3;
const CLUSTERS = 10;

function addInterval(a: Interval | undefined, b: Interval | undefined, pa: number, pb: number): Interval {
  return [(a?.[0] ?? pa) + (b?.[0] ?? pb), (a?.[1] ?? pa) + (b?.[1] ?? pb)];
}

function mergePattern(into: PatternStats, from: PatternStats): void {
  if (into.ci || from.ci) {
    into.ci = {
      keys: addInterval(into.ci?.keys, from.ci?.keys, into.keys, from.keys),
      bytes: addInterval(into.ci?.bytes, from.ci?.bytes, into.bytes, from.bytes),
      noTtlKeys: addInterval(into.ci?.noTtlKeys, from.ci?.noTtlKeys, into.noTtlKeys, from.noTtlKeys),
      noTtlBytes: addInterval(into.ci?.noTtlBytes, from.ci?.noTtlBytes, into.noTtlBytes, from.noTtlBytes),
    };
  }
  into.keys += from.keys;
  into.bytes += from.bytes;
  into.noTtlKeys += from.noTtlKeys;
  into.noTtlBytes += from.noTtlBytes;
  for (const [t, n] of Object.entries(from.types)) into.types[t] = (into.types[t] ?? 0) + n;
  for (const b of TTL_BUCKETS) into.ttl[b] += from.ttl[b];
  into.examples = [...new Set([...into.examples, ...from.examples])].sort().slice(0, EXAMPLES);
  if (from.violations !== undefined) into.violations = (into.violations ?? 0) + from.violations;
  into.rule ??= from.rule;
}

function mergeClusters(reports: readonly ScanReport[]): ExpiryCluster[] {
  const bySecond = new Map<number, { keys: number; top: string; topKeys: number }>();
  for (const r of reports) {
    for (const c of r.expiryClusters) {
      const slot = bySecond.get(c.second) ?? { keys: 0, top: c.topPattern, topKeys: 0 };
      slot.keys += c.keys;
      if (c.keys > slot.topKeys) {
        slot.top = c.topPattern;
        slot.topKeys = c.keys;
      }
      bySecond.set(c.second, slot);
    }
  }
  return [...bySecond.entries()]
    .sort((a, b) => b[1].keys - a[1].keys || a[0] - b[0])
    .slice(0, CLUSTERS)
    .map(([second, v]) => ({ second, keys: v.keys, topPattern: v.top }));
}

function unique(values: readonly string[]): string {
  return [...new Set(values)].join(', ');
}

/**
 * Add up `reports` (at least one) into one report over the union of their keyspaces.
 * `top` caps the big keys (default: the longest list among the inputs).
 */
export function mergeReports(reports: readonly ScanReport[], options: { top?: number } = {}): ScanReport {
  if (reports.length === 0) throw new Error('mergeReports needs at least one report');
  const patterns = new Map<string, PatternStats>();
  for (const r of reports) {
    for (const p of r.patterns) {
      const have = patterns.get(p.pattern);
      if (have) mergePattern(have, p);
      // A copy: the merge adds into it, and the input reports stay as they were.
      else patterns.set(p.pattern, structuredClone(p));
    }
  }
  const merged = [...patterns.values()].sort((a, b) => b.bytes - a.bytes || b.keys - a.keys || (a.pattern < b.pattern ? -1 : 1));
  const totals = { keys: 0, bytes: 0, noTtlKeys: 0, noTtlBytes: 0 };
  for (const r of reports) {
    totals.keys += r.totals.keys;
    totals.bytes += r.totals.bytes;
    totals.noTtlKeys += r.totals.noTtlKeys;
    totals.noTtlBytes += r.totals.noTtlBytes;
  }
  const top = options.top ?? Math.max(...reports.map((r) => r.bigKeys.length));
  const bigKeys: BigKey[] = reports
    .flatMap((r) => r.bigKeys)
    .sort((a, b) => b.bytes - a.bytes || (a.key < b.key ? -1 : 1))
    .slice(0, top);
  const modes = new Set(reports.map((r) => r.target.mode));
  const files: DumpFileInfo[] = reports.flatMap((r) => r.target.files ?? []);
  const cov = reports.map((r) => r.coverage);
  const keysSeen = cov.reduce((s, c) => s + c.keysSeen, 0);
  const dbsize = cov.reduce((s, c) => s + c.dbsize, 0);
  const durationMs = Math.max(...cov.map((c) => c.durationMs));
  const expired = cov.some((c) => c.expired)
    ? { keys: cov.reduce((s, c) => s + (c.expired?.keys ?? 0), 0), bytes: cov.reduce((s, c) => s + (c.expired?.bytes ?? 0), 0) }
    : undefined;
  const methods = new Set(cov.map((c) => c.method));
  const interrupted = cov.find((c) => c.interrupted)?.interrupted;
  const sampled = cov.some((c) => c.sampled);
  const taken = reports
    .map((r) => r.takenAt)
    .filter((t): t is string => t !== undefined)
    .sort();
  const report: ScanReport = {
    kind: 'keywarden.scan',
    schemaVersion: 1,
    ...(taken.length > 0 ? { takenAt: taken[0] } : {}),
    target: {
      url: unique(reports.map((r) => r.target.url)),
      mode: modes.size === 1 ? reports[0].target.mode : 'cluster',
      redisVersion: unique(reports.map((r) => r.target.redisVersion)),
      nodes: reports.flatMap((r) => r.target.nodes),
      ...(files.length > 0 ? { files } : {}),
    },
    coverage: {
      complete: cov.every((c) => c.complete),
      sampled,
      ...(sampled ? { sampleFraction: keysSeen / Math.max(1, dbsize) } : {}),
      keysSeen,
      dbsize,
      vanished: cov.reduce((s, c) => s + c.vanished, 0),
      ...(interrupted ? { interrupted } : {}),
      unmeasured: [...new Set(cov.flatMap((c) => c.unmeasured))],
      method: methods.size === 1 ? cov[0].method : 'pipeline',
      ...(expired ? { expired } : {}),
      durationMs,
      keysPerSecond: Math.round(keysSeen / Math.max(durationMs / 1000, 1e-3)),
    },
    totals,
    patterns: merged,
    bigKeys,
    expiryClusters: mergeClusters(reports),
  };
  const policies = reports.filter((r) => r.policy);
  if (policies.length > 0) report.policy = { file: policies[0].policy?.file, violations: policies.reduce((s, r) => s + (r.policy?.violations ?? 0), 0) };
  return report;
}
