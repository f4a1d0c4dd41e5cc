/**
 * What `keywarden fix` would do to eviction: under a volatile-* policy near maxmemory, each
 * key given a TTL becomes an eviction candidate at once. The same check fix --apply prints
 * before it writes (src/fix/eviction-risk.ts).
 */
import { NEAR_MAXMEMORY, ttlMakesEvictable } from '../../fix/eviction-risk.js';
import { formatPercent } from '../format.js';
import { setting } from '../facts.js';
import type { NodeRule } from '../types.js';
import { describeCoverage, maxmemory, policyArg, ttlCoverage, usedRatio } from './shared.js';

export const fixMakesKeysEvictable: NodeRule = {
  id: 'fix-makes-keys-evictable',
  scope: 'node',
  severity: 'warning',
  title: 'Giving keys a TTL here makes them evictable at once',
  why: `A volatile-* policy evicts only keys with a TTL. With memory at ${formatPercent(NEAR_MAXMEMORY)} of maxmemory or more, every key that keywarden fix (or the application) gives a TTL becomes an eviction candidate immediately, and may be evicted long before its TTL ends.`,
  check(ctx) {
    const policy = setting(ctx.node, 'maxmemory-policy');
    const mem = usedRatio(ctx.node);
    if (ctx.node.role !== 'master' || !mem || !ttlMakesEvictable(policy, mem.used, maxmemory(ctx.node))) return undefined;
    const coverage = ttlCoverage(ctx);
    if (!coverage || coverage.noTtlShare <= 0) return undefined;
    return {
      detail: `${policy} at ${formatPercent(mem.ratio)} of maxmemory, no TTL on ${describeCoverage(coverage)}: the keys fix gives a TTL can be evicted as soon as it does`,
      evidence: {
        policy,
        usedRatio: Math.round(mem.ratio * 1000) / 1000,
        noTtlRatio: Math.round(coverage.noTtlShare * 1000) / 1000,
        noTtlBasis: coverage.basis,
      },
    };
  },
  fix(_hit, ctx) {
    return [
      'before keywarden fix --apply: raise maxmemory (CONFIG SET maxmemory <bytes>) or free memory, so the keys it gives a TTL are not evicted at once',
      `or fix the patterns that may be evicted first (caches), one rule at a time: keywarden fix --policy ${policyArg(ctx)} (dry run shows each rule's keys)`,
    ];
  },
};
