/**
 * What the keyspace sample shows, target-wide: keys without TTL (against the policy), big keys,
 * and keys expiring in the same second.
 */
import { BIG_KEY_TEXT, EXPIRY_CLUSTER_KEYS, isBigKey } from '../../keyspace/thresholds.js';
import { formatDuration } from '../../policy/index.js';
import { formatBytes, formatCount, safeText } from '../format.js';
import { keyspaceCounts, MissingFacts } from '../facts.js';
import type { TargetContext, TargetRule } from '../types.js';
import { needSample, policyArg, singleKeyCaveat } from './shared.js';

const DEFAULT_NO_TTL_KEYS = 1000;

interface Offender {
  pattern: string;
  noTtlKeys: number;
  noTtlBytes: number;
  ruleTtl?: string;
}

function noTtlOffenders(ctx: TargetContext): { offenders: Offender[]; total: number; basis: string; interval?: [number, number] } {
  if (ctx.sample) {
    const cov = ctx.sample.coverage;
    const patterns = ctx.sample.patterns.filter((p) => p.noTtlKeys > 0 && p.rule?.role !== 'durable');
    // The interval covers every key without TTL: shown only when no durable pattern is left out.
    const ci = patterns.length === ctx.sample.patterns.filter((p) => p.noTtlKeys > 0).length ? noTtlKeysInterval(ctx.sample) : undefined;
    return {
      offenders: patterns
        .sort((a, b) => b.noTtlBytes - a.noTtlBytes || b.noTtlKeys - a.noTtlKeys)
        .map((p) => ({
          pattern: p.pattern,
          noTtlKeys: p.noTtlKeys,
          noTtlBytes: p.noTtlBytes,
          ruleTtl: p.rule?.ttlMs ? formatDuration(p.rule.ttlMs) : undefined,
        })),
      total: patterns.reduce((n, p) => n + p.noTtlKeys, 0),
      basis: cov.sampled ? `estimated from ${formatCount(cov.keysSeen)} of ${formatCount(cov.dbsize)} keys` : `all ${formatCount(cov.keysSeen)} keys read`,
      ...(cov.sampled && ci ? { interval: ci } : {}),
    };
  }
  const live = ctx.nodes.filter((n) => n.source === 'live' && n.role === 'master' && n.info);
  if (live.length === 0) throw new MissingFacts('needs a keyspace sample or INFO keyspace from a live server');
  const total = live.reduce((sum, n) => {
    const { keys, expires } = keyspaceCounts(n);
    return sum + keys - expires;
  }, 0);
  return { offenders: [], total, basis: 'INFO keyspace (no sample: patterns unknown)' };
}

/** 95% interval of the number of keys without TTL, from the sample's share of them. */
function noTtlKeysInterval(sample: NonNullable<TargetContext['sample']>): [number, number] | undefined {
  const share = sample.totals.ci?.noTtlKeysShare;
  if (!share) return undefined;
  return [Math.round(share[0] * sample.coverage.dbsize), Math.round(share[1] * sample.coverage.dbsize)];
}

const keysWithoutTtl: TargetRule = {
  id: 'keys-without-ttl',
  scope: 'target',
  severity: 'warning',
  title: 'Keys without TTL',
  why: 'Keys without TTL stay until deleted: a forgotten EX makes memory climb for weeks until the eviction policy or the OOM killer decides for you.',
  check(ctx) {
    const { offenders, total, basis, interval } = noTtlOffenders(ctx);
    const threshold = ctx.policy?.alerts.noTtlKeys ?? DEFAULT_NO_TTL_KEYS;
    const againstPolicy = offenders.filter((o) => o.ruleTtl !== undefined);
    if (againstPolicy.length === 0 && total <= threshold) return undefined;
    const shown = (againstPolicy.length > 0 ? againstPolicy : offenders).slice(0, 5);
    const names = shown.map(
      (o) => `${safeText(o.pattern)} ${formatCount(o.noTtlKeys)} keys / ${formatBytes(o.noTtlBytes)}${o.ruleTtl ? ` (policy: ${o.ruleTtl})` : ''}`,
    );
    return {
      detail: `${interval ? 'an estimated ' : ''}${formatCount(total)}${interval ? ` (${formatCount(interval[0])}–${formatCount(interval[1])})` : ''} keys without TTL (${basis}; threshold ${formatCount(threshold)})${names.length ? `; top: ${names.join(', ')}` : ''}`,
      evidence: {
        noTtlKeys: Math.round(total),
        threshold,
        basis,
        patternsAgainstPolicy: againstPolicy.map((o) => safeText(o.pattern)),
        topPatterns: offenders.slice(0, 10).map((o) => safeText(o.pattern)),
      },
      ...(interval ? { coverage: { interval } } : {}),
    };
  },
  fix(hit, ctx) {
    const top = (hit.evidence.topPatterns as string[])[0];
    const lines = [`keywarden fix --policy ${policyArg(ctx)} (dry run: shows the plan), then the same with --apply`];
    if (!ctx.policy && top) lines.push(`or ad hoc for one pattern: keywarden fix --match '${top}' --ttl 24h --apply`);
    lines.push('stop new leaks at the source: wrap the client with keywarden guard (the same policy file)');
    return lines;
  },
};

const bigKeys: TargetRule = {
  id: 'big-keys',
  scope: 'target',
  severity: 'warning',
  title: 'Big keys',
  why: `A key of ${BIG_KEY_TEXT} or more blocks Redis when it is deleted, expired, migrated or read whole (HGETALL, SMEMBERS), and concentrates memory and traffic on one node.`,
  check(ctx) {
    const big = needSample(ctx).bigKeys.filter(isBigKey);
    if (big.length === 0) return undefined;
    const shown = big
      .slice(0, 5)
      .map((k) => `${safeText(k.key)} (${k.type}, ${formatBytes(k.bytes)}, ${formatCount(k.length)} elements${ctx.mode === 'cluster' ? `, ${k.node}` : ''})`);
    const caveat = singleKeyCaveat(ctx.keyspace);
    return {
      detail: `${big.length} key(s) of ${BIG_KEY_TEXT} or more: ${shown.join(', ')}${caveat.text}`,
      evidence: { count: big.length, keys: big.slice(0, 20).map((k) => safeText(k.key)), biggestBytes: Math.max(...big.map((k) => k.bytes)) },
      coverage: caveat.coverage,
    };
  },
  fix(hit) {
    const key = (hit.evidence.keys as string[])[0];
    return [
      `delete without blocking: UNLINK ${quoteArg(key)} (never DEL on a big key)`,
      'split it: shard the elements over N keys (e.g. by id modulo 100), and read it with HSCAN/SSCAN/ZSCAN instead of whole-key reads',
      'free big keys in the background: CONFIG SET lazyfree-lazy-user-del yes (and lazyfree-lazy-expire, lazyfree-lazy-eviction)',
    ];
  },
};

const expiryStampede: TargetRule = {
  id: 'expiry-stampede',
  scope: 'target',
  severity: 'warning',
  title: 'Many keys expire in the same second',
  why: 'When a batch of cache keys expires together, every reader misses at once and the database behind the cache takes the whole load (a cache stampede); the expiry cycle also spikes latency.',
  check(ctx) {
    const sample = needSample(ctx);
    // The report lists the same clusters (estimated for the whole keyspace when sampled) at the same threshold.
    const clusters = sample.expiryClusters.filter((c) => c.keys >= EXPIRY_CLUSTER_KEYS).sort((a, b) => b.keys - a.keys);
    if (clusters.length === 0) return undefined;
    const est = sample.coverage.sampled ? 'an estimated ' : '';
    const shown = clusters
      .slice(0, 3)
      .map((c) => `${est}${formatCount(c.keys)} keys at ${new Date(c.second * 1000).toISOString()} (mostly ${safeText(c.topPattern)})`);
    const caveat = singleKeyCaveat(ctx.keyspace);
    return {
      detail: `${shown.join('; ')}${caveat.text}`,
      coverage: caveat.coverage,
      evidence: {
        seconds: clusters.length,
        largestKeys: clusters[0].keys,
        largestAt: clusters[0].second,
        topPatterns: clusters.slice(0, 5).map((c) => safeText(c.topPattern)),
      },
    };
  },
  fix(hit, ctx) {
    const top = (hit.evidence.topPatterns as string[])[0];
    return [
      `spread the expiries: add jitter to the rule in ${policyArg(ctx)} (match: "${top}", jitter: 10%) and write keys through keywarden guard`,
      'for keys already written, keywarden fix only sets missing TTLs (EXPIRE … NX): re-set these from the application with a random offset',
    ];
  },
};

/** A key for a redis-cli command line: quoted when it holds spaces or quotes. */
function quoteArg(text: string): string {
  // displayKey already escaped backslashes and control bytes the way redis-cli reads them in quotes.
  return /^[^\s"'\\]+$/.test(text) ? text : `"${text.replace(/"/g, '\\"')}"`;
}

export const keyspaceRules = [keysWithoutTtl, bigKeys, expiryStampede] as const satisfies readonly TargetRule[];
