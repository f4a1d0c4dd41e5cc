/**
 * The eviction policy crossed with the data: volatile-* with nothing volatile, allkeys-* over
 * sessions and durable data, and evicting or expiring big keys on the main thread.
 */
import { formatBytes, formatCount, formatPercent, safeText } from '../format.js';
import { infoNumber, setting } from '../facts.js';
import type { NodeRule } from '../types.js';
import { BIG_KEY_TEXT, isBigKey } from '../../keyspace/thresholds.js';
import { fixMakesKeysEvictable } from './fix-eviction.js';
import { describeCoverage, maxmemory, needSample, patternRole, policyArg, shareCoverage, singleKeyCaveat, ttlCoverage, usedRatio } from './shared.js';

const volatileWithoutTtls: NodeRule = {
  id: 'volatile-policy-without-ttls',
  scope: 'node',
  severity: 'critical',
  title: 'volatile-* eviction policy, but most data has no TTL',
  why: 'volatile-* policies only evict keys that have a TTL: with little volatile data, eviction frees almost nothing and writes fail with OOM at the limit, as with noeviction.',
  check(ctx) {
    const policy = setting(ctx.node, 'maxmemory-policy');
    if (ctx.node.role !== 'master' || !policy.startsWith('volatile-') || maxmemory(ctx.node) <= 0) return undefined;
    const coverage = ttlCoverage(ctx);
    if (!coverage || coverage.noTtlShare <= 0.5) return undefined;
    return {
      detail: `${policy} with no TTL on ${describeCoverage(coverage)}`,
      evidence: { policy, noTtlRatio: Math.round(coverage.noTtlShare * 1000) / 1000, noTtlBasis: coverage.basis, keys: coverage.keys },
      coverage: shareCoverage(coverage),
    };
  },
  fix(_hit, ctx) {
    return [
      `give the data TTLs: keywarden fix --policy ${policyArg(ctx)} (dry run), then add --apply`,
      'or, if all of it is cache: CONFIG SET maxmemory-policy allkeys-lru (and redis.conf: maxmemory-policy allkeys-lru)',
    ];
  },
};

const allkeysEvictsSessions: NodeRule = {
  id: 'allkeys-policy-evicts-sessions',
  scope: 'node',
  severity: 'warning',
  title: 'allkeys-* eviction policy over sessions or durable data',
  why: 'allkeys-* evicts any key under pressure: Redis, not the application, decides which live sessions or durable records to drop, silently.',
  check(ctx) {
    const policy = setting(ctx.node, 'maxmemory-policy');
    if (ctx.node.role !== 'master' || !policy.startsWith('allkeys-') || maxmemory(ctx.node) <= 0) return undefined;
    const sample = needSample(ctx);
    const exposed = sample.patterns
      .map((p) => ({ p, role: patternRole(p) }))
      .filter(({ p, role }) => p.noTtlKeys > 0 && (role === 'session' || role === 'durable' || role === 'token'))
      .sort((a, b) => b.p.noTtlKeys - a.p.noTtlKeys);
    if (exposed.length === 0) return undefined;
    const mem = usedRatio(ctx.node);
    const evicted = ctx.node.info ? (infoNumber(ctx.node, 'evicted_keys') ?? 0) : 0;
    const pressing = (mem !== undefined && mem.ratio >= 0.8) || evicted > 0;
    const top = exposed.slice(0, 5).map(({ p, role }) => `${safeText(p.pattern)} (${role}, ${formatCount(p.noTtlKeys)} keys without TTL)`);
    return {
      severity: pressing ? 'critical' : 'warning',
      detail: `${policy} over ${top.join(', ')}${mem ? `; memory at ${formatPercent(mem.ratio)} of maxmemory` : ''}${evicted > 0 ? `; ${formatCount(evicted)} keys already evicted` : ''}`,
      evidence: {
        policy,
        patterns: exposed.slice(0, 10).map(({ p }) => safeText(p.pattern)),
        usedRatio: mem ? Math.round(mem.ratio * 1000) / 1000 : null,
        evictedKeys: evicted,
      },
    };
  },
  fix(_hit, ctx) {
    return [
      `give sessions and tokens TTLs (keywarden fix --policy ${policyArg(ctx)} --apply), then CONFIG SET maxmemory-policy volatile-lru so only keys with a TTL can be evicted`,
      'keep durable data out of an evicting instance: move it to its own Redis with maxmemory-policy noeviction',
    ];
  },
};

const LAZYFREE = ['lazyfree-lazy-eviction', 'lazyfree-lazy-expire', 'lazyfree-lazy-server-del', 'lazyfree-lazy-user-del'] as const;

const lazyfreeOff: NodeRule = {
  id: 'lazyfree-off-with-big-keys',
  scope: 'node',
  severity: 'warning',
  title: 'Big keys are freed on the main thread (lazyfree is off)',
  why: `Evicting, expiring or deleting a big key (${BIG_KEY_TEXT} or more) blocks Redis for as long as freeing it takes; every client waits, and replicas may time out.`,
  check(ctx) {
    const off = LAZYFREE.filter((name) => setting(ctx.node, name) === 'no');
    if (off.length === 0) return undefined;
    const big = needSample(ctx).bigKeys.filter((k) => isBigKey(k) && (ctx.node.source === 'conf' || k.node === ctx.node.label));
    if (big.length === 0) return undefined;
    const caveat = singleKeyCaveat(ctx.keyspace);
    return {
      detail: `${off.join(', ')} = no; ${big.length} key(s) of ${BIG_KEY_TEXT} or more, the biggest ${safeText(big[0].key)} (${formatBytes(big[0].bytes)})${caveat.text}`,
      evidence: { lazyfreeOff: [...off], bigKeys: big.length, biggestBytes: big[0].bytes },
      coverage: caveat.coverage,
    };
  },
  fix(hit) {
    const off = hit.evidence.lazyfreeOff as string[];
    return [...off.map((name) => `CONFIG SET ${name} yes`), ...off.map((name) => `redis.conf: ${name} yes`)];
  },
};

export const evictionRules = [volatileWithoutTtls, fixMakesKeysEvictable, allkeysEvictsSessions, lazyfreeOff] as const satisfies readonly NodeRule[];
