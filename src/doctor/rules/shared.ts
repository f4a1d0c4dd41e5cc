/**
 * Facts several rule families derive the same way: TTL coverage, the data's role (from the
 * policy, or from names such as `session:*`), maxmemory and the share of it in use.
 */
import type { PatternStats, ScanReport } from '../../keyspace/report.js';
import { formatPercent } from '../format.js';
import { keyspaceCounts, memoryForEviction, MissingFacts, setting, type NodeFacts } from '../facts.js';
import type { NodeContext } from '../types.js';

/** The sample, or MissingFacts. */
export function needSample(ctx: { sample?: ScanReport; sampleUnavailable?: string }): ScanReport {
  if (!ctx.sample) throw new MissingFacts(ctx.sampleUnavailable ?? 'needs a keyspace sample from a live server');
  return ctx.sample;
}

export interface TtlCoverage {
  /** Share of the data without TTL, 0..1. */
  noTtlShare: number;
  /** What it was measured on, for the evidence. */
  basis: 'sampled bytes' | 'sampled keys' | 'keys (INFO keyspace)';
  keys: number;
}

/** How much of the data has no TTL: sampled bytes, else sampled keys, else INFO keyspace; undefined when empty. */
export function ttlCoverage(ctx: NodeContext): TtlCoverage | undefined {
  const s = ctx.sample;
  if (s && s.totals.keys > 0) {
    if (s.totals.bytes > 0 && !s.coverage.unmeasured.includes('bytes')) {
      return { noTtlShare: s.totals.noTtlBytes / s.totals.bytes, basis: 'sampled bytes', keys: s.totals.keys };
    }
    return { noTtlShare: s.totals.noTtlKeys / s.totals.keys, basis: 'sampled keys', keys: s.totals.keys };
  }
  if (!ctx.node.info) return undefined;
  const { keys, expires } = keyspaceCounts(ctx.node);
  return keys === 0 ? undefined : { noTtlShare: (keys - expires) / keys, basis: 'keys (INFO keyspace)', keys };
}

/** Names that say a pattern holds sessions or credentials: `session`, `sess`, `auth`, `token`, `cart`. */
const SESSION_NAME = /(^|[^a-z])(sessions?|sess|auth|tokens?|carts?)([^a-z]|$)/i;

/** The role of a pattern: its policy rule's role, else `session` when its name says so. */
export function patternRole(p: PatternStats): string | undefined {
  if (p.rule?.role) return p.rule.role;
  return SESSION_NAME.test(p.pattern) ? 'session' : undefined;
}

/** maxmemory in bytes (0 = unset), from CONFIG or INFO. */
export function maxmemory(node: NodeFacts): number {
  return Number(setting(node, 'maxmemory'));
}

/** used / maxmemory, or undefined without INFO or without a limit. */
export function usedRatio(node: NodeFacts): { used: number; limit: number; ratio: number } | undefined {
  const limit = maxmemory(node);
  if (!node.info || limit <= 0) return undefined;
  const used = memoryForEviction(node);
  return { used, limit, ratio: used / limit };
}

/** "62% of sampled bytes" */
export function describeCoverage(c: TtlCoverage): string {
  return `${formatPercent(c.noTtlShare)} of ${c.basis}`;
}

/** The policy file for `keywarden fix --policy`, or a placeholder to write one. */
export function policyArg(ctx: { policy?: { file?: string } }): string {
  return ctx.policy?.file ?? 'keywarden.yml';
}
