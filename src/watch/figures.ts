/**
 * Per-pattern figures as plain, serializable data. The Aggregator (pattern inference and all)
 * works on a chunk of a pass; each chunk's result is folded here, by pattern string, so a
 * pass in progress can be written to the state file and resumed after a restart.
 */
import type { Aggregation } from '../keyspace/aggregate.js';
import { TTL_BUCKETS, type PatternStats } from '../keyspace/report.js';

/** The folded long tail; same name the pattern grouper uses. */
export const OTHER_PATTERN = '(other)';
const EXAMPLES = 3;
/** Patterns kept per node between chunks; beyond this the smallest fold into (other). */
const MAX_HELD = 1000;

export interface PatternFigures {
  pattern: string;
  keys: number;
  bytes: number;
  noTtlKeys: number;
  noTtlBytes: number;
  /** Keys that break their policy rule (no TTL, or a TTL above the rule's). */
  violations: number;
  /** Key counts per TTL bucket, in `TTL_BUCKETS` order. */
  ttl: number[];
  /** A few keys, already escaped for display (`displayKey`). */
  examples: string[];
  /** The policy rule's TTL, when the pattern is a rule's glob. */
  ruleTtlMs?: number;
}

function empty(pattern: string): PatternFigures {
  return { pattern, keys: 0, bytes: 0, noTtlKeys: 0, noTtlBytes: 0, violations: 0, ttl: TTL_BUCKETS.map(() => 0), examples: [] };
}

function add(into: PatternFigures, from: PatternFigures): void {
  into.keys += from.keys;
  into.bytes += from.bytes;
  into.noTtlKeys += from.noTtlKeys;
  into.noTtlBytes += from.noTtlBytes;
  into.violations += from.violations;
  for (let i = 0; i < into.ttl.length; i++) into.ttl[i] += from.ttl[i] ?? 0;
  for (const e of from.examples) if (into.examples.length < EXAMPLES && !into.examples.includes(e)) into.examples.push(e);
  if (from.ruleTtlMs !== undefined) into.ruleTtlMs = from.ruleTtlMs;
}

function fromStats(p: PatternStats): PatternFigures {
  return {
    pattern: p.pattern,
    keys: p.keys,
    bytes: p.bytes,
    noTtlKeys: p.noTtlKeys,
    noTtlBytes: p.noTtlBytes,
    violations: p.violations ?? 0,
    ttl: TTL_BUCKETS.map((b) => p.ttl[b]),
    examples: p.examples.slice(0, EXAMPLES),
    ...(p.rule?.ttlMs !== undefined ? { ruleTtlMs: p.rule.ttlMs } : {}),
  };
}

/** Fold a finished chunk into `held` (one node's figures so far); returns the new list. */
export function foldChunk(held: PatternFigures[], chunk: Aggregation): PatternFigures[] {
  return mergeFigures([held, chunk.patterns.map(fromStats)], MAX_HELD);
}

/** Merge lists by pattern; keep the `limit` biggest by bytes (then keys) and fold the rest into (other). */
export function mergeFigures(lists: PatternFigures[][], limit = Infinity): PatternFigures[] {
  const byPattern = new Map<string, PatternFigures>();
  for (const list of lists) {
    for (const f of list) {
      let into = byPattern.get(f.pattern);
      if (!into) byPattern.set(f.pattern, (into = empty(f.pattern)));
      add(into, f);
    }
  }
  return bound([...byPattern.values()], limit);
}

function bound(all: PatternFigures[], limit: number): PatternFigures[] {
  const sorted = all.filter((f) => f.pattern !== OTHER_PATTERN).sort(byWeight);
  const other = all.find((f) => f.pattern === OTHER_PATTERN) ?? empty(OTHER_PATTERN);
  const kept = sorted.slice(0, limit);
  for (const f of sorted.slice(limit)) add(other, { ...f, examples: [] });
  if (other.keys > 0) kept.push(other);
  return kept;
}

export function byWeight(a: PatternFigures, b: PatternFigures): number {
  return b.bytes - a.bytes || b.keys - a.keys || (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0);
}

/**
 * Bound label cardinality: the `top` patterns by bytes over all nodes, the same set on every
 * node, everything else folded into (other) per node. At most nodes × (top + 1) series.
 */
export function boundPerNode(nodes: Record<string, PatternFigures[]>, top: number): Record<string, PatternFigures[]> {
  const overall = mergeFigures(Object.values(nodes));
  const chosen = new Set(
    overall
      .filter((f) => f.pattern !== OTHER_PATTERN)
      .slice(0, top)
      .map((f) => f.pattern),
  );
  const out: Record<string, PatternFigures[]> = {};
  for (const [node, list] of Object.entries(nodes)) {
    const kept = list.filter((f) => chosen.has(f.pattern)).map((f) => ({ ...f, ttl: [...f.ttl], examples: [...f.examples] }));
    const other = empty(OTHER_PATTERN);
    for (const f of list) if (!chosen.has(f.pattern)) add(other, { ...f, examples: [] });
    if (other.keys > 0) kept.push(other);
    out[node] = kept.sort(byWeight);
  }
  return out;
}

/** Sum of the figures (for totals and the TTL distribution). */
export function totalOf(list: PatternFigures[]): PatternFigures {
  const t = empty('total');
  for (const f of list) add(t, { ...f, examples: [] });
  return t;
}
