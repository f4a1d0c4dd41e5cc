/**
 * Facts several rule families derive the same way: TTL coverage, the data's role (from the
 * policy, or from names such as `session:*`), maxmemory and the share of it in use.
 */
import type { Interval, PatternStats, ScanReport } from '../../keyspace/report.js';
import { formatCount, formatPercent } from '../format.js';
import { keyspaceCounts, memoryForEviction, MissingFacts, setting, type NodeFacts } from '../facts.js';
import type { FindingCoverage, KeyspaceCoverage, NodeContext } from '../types.js';

/** The sample, or MissingFacts. */
export function needSample(ctx: { sample?: ScanReport; sampleUnavailable?: string }): ScanReport {
  if (!ctx.sample) throw new MissingFacts(ctx.sampleUnavailable ?? 'needs a keyspace sample from a live server');
  return ctx.sample;
}

export interface TtlCoverage {
  /** Share of the data without TTL, 0..1. */
  noTtlShare: number;
  /** What it was measured on, for the evidence: every key read, a sample, or INFO keyspace counts. */
  basis: 'bytes' | 'keys' | 'sampled bytes' | 'sampled keys' | 'keys (INFO keyspace)';
  keys: number;
  /** When estimated from a sample: the 95% interval of the share, and how many keys it came from. */
  estimate?: { interval: Interval; keysRead: number; dbsize: number };
}

/** How much of the data has no TTL: bytes read, else keys read, else INFO keyspace; undefined when empty. */
export function ttlCoverage(ctx: NodeContext): TtlCoverage | undefined {
  const s = ctx.sample;
  if (s && s.totals.keys > 0) {
    const sampled = s.coverage.sampled && s.totals.ci !== undefined;
    const estimate = (interval: Interval) => (sampled ? { estimate: { interval, keysRead: s.coverage.keysSeen, dbsize: s.coverage.dbsize } } : {});
    if (s.totals.bytes > 0 && !s.coverage.unmeasured.includes('bytes')) {
      const share = s.totals.noTtlBytes / s.totals.bytes;
      return {
        noTtlShare: share,
        basis: sampled ? 'sampled bytes' : 'bytes',
        keys: s.totals.keys,
        ...estimate(s.totals.ci?.noTtlBytesShare ?? [share, share]),
      };
    }
    const share = s.totals.noTtlKeys / s.totals.keys;
    return { noTtlShare: share, basis: sampled ? 'sampled keys' : 'keys', keys: s.totals.keys, ...estimate(s.totals.ci?.noTtlKeysShare ?? [share, share]) };
  }
  if (!ctx.node.info) return undefined;
  const { keys, expires } = keyspaceCounts(ctx.node);
  return keys === 0 ? undefined : { noTtlShare: (keys - expires) / keys, basis: 'keys (INFO keyspace)', keys };
}

/** The coverage a finding built on `ttlCoverage` carries: the share's interval when estimated. */
export function shareCoverage(c: TtlCoverage | undefined): Partial<FindingCoverage> | undefined {
  return c?.estimate ? { interval: [round3(c.estimate.interval[0]), round3(c.estimate.interval[1])] } : undefined;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
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

/**
 * "62% of bytes" when every key was read; "an estimated 82% ± 1% of bytes (from 10,000 of
 * 4,200,000 keys)" from a sample; "62% of keys (INFO keyspace)" without one.
 */
export function describeCoverage(c: TtlCoverage): string {
  if (!c.estimate) return `${formatPercent(c.noTtlShare)} of ${c.basis}`;
  const [low, high] = c.estimate.interval;
  const margin = Math.round(Math.max(c.noTtlShare - low, high - c.noTtlShare) * 100);
  const unit = c.basis === 'sampled bytes' ? 'bytes' : 'keys';
  return `an estimated ${formatPercent(c.noTtlShare)} ± ${margin < 1 ? '<1' : margin}% of ${unit} (from ${formatCount(c.estimate.keysRead)} of ${formatCount(c.estimate.dbsize)} keys)`;
}

/**
 * For findings about single keys (big keys, expiry clusters) drawn from a sample: the clause
 * saying keys outside it may be missed and which command reads them all; '' when every key
 * was read.
 */
export function singleKeyCaveat(keyspace: KeyspaceCoverage | undefined): { text: string; coverage?: Partial<FindingCoverage> } {
  if (!keyspace || keyspace.read === 'all') return { text: '' };
  return {
    text: ` — from a sample of ${formatCount(keyspace.keysRead)} of ${formatCount(keyspace.dbsize)} keys: keys outside it may be missed; ${keyspace.scanCommand} reads them all`,
    coverage: { mayMiss: keyspace.scanCommand },
  };
}

/** The policy file for `keywarden fix --policy`, or a placeholder to write one. */
export function policyArg(ctx: { policy?: { file?: string } }): string {
  return ctx.policy?.file ?? 'keywarden.yml';
}
