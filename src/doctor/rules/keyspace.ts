/**
 * What the keyspace sample shows, target-wide: keys without TTL (against the policy), big keys,
 * and keys expiring in the same second.
 */
import { formatDuration } from '../../policy/index.js';
import { formatBytes, formatCount, safeText } from '../format.js';
import { keyspaceCounts, MissingFacts } from '../facts.js';
import type { TargetContext, TargetRule } from '../types.js';
import { needSample, policyArg } from './shared.js';

const DEFAULT_NO_TTL_KEYS = 1000;

interface Offender {
  pattern: string;
  noTtlKeys: number;
  noTtlBytes: number;
  ruleTtl?: string;
}

function noTtlOffenders(ctx: TargetContext): { offenders: Offender[]; total: number; basis: string } {
  if (ctx.sample) {
    const patterns = ctx.sample.patterns.filter((p) => p.noTtlKeys > 0 && p.rule?.role !== 'durable');
    return {
      offenders: patterns
        .sort((a, b) => b.noTtlBytes - a.noTtlBytes || b.noTtlKeys - a.noTtlKeys)
        .map((p) => ({ pattern: p.pattern, noTtlKeys: p.noTtlKeys, noTtlBytes: p.noTtlBytes, ruleTtl: p.rule?.ttlMs ? formatDuration(p.rule.ttlMs) : undefined })),
      total: patterns.reduce((n, p) => n + p.noTtlKeys, 0),
      basis: ctx.sample.coverage.sampled ? 'estimated from the sample' : 'counted',
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

const keysWithoutTtl: TargetRule = {
  id: 'keys-without-ttl',
  scope: 'target',
  severity: 'warning',
  title: 'Keys without TTL',
  why: 'Keys without TTL stay until deleted: a forgotten EX makes memory climb for weeks until the eviction policy or the OOM killer decides for you.',
  check(ctx) {
    const { offenders, total, basis } = noTtlOffenders(ctx);
    const threshold = ctx.policy?.alerts.noTtlKeys ?? DEFAULT_NO_TTL_KEYS;
    const againstPolicy = offenders.filter((o) => o.ruleTtl !== undefined);
    if (againstPolicy.length === 0 && total <= threshold) return undefined;
    const shown = (againstPolicy.length > 0 ? againstPolicy : offenders).slice(0, 5);
    const names = shown.map((o) => `${safeText(o.pattern)} ${formatCount(o.noTtlKeys)} keys / ${formatBytes(o.noTtlBytes)}${o.ruleTtl ? ` (policy: ${o.ruleTtl})` : ''}`);
    return {
      detail: `${formatCount(total)} keys without TTL (${basis}; threshold ${formatCount(threshold)})${names.length ? `; top: ${names.join(', ')}` : ''}`,
      evidence: {
        noTtlKeys: Math.round(total),
        threshold,
        basis,
        patternsAgainstPolicy: againstPolicy.map((o) => safeText(o.pattern)),
        topPatterns: offenders.slice(0, 10).map((o) => safeText(o.pattern)),
      },
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

const BIG_BYTES = 10 * 1024 * 1024;
const BIG_ELEMENTS = 1_000_000;

const bigKeys: TargetRule = {
  id: 'big-keys',
  scope: 'target',
  severity: 'warning',
  title: 'Big keys',
  why: 'A key of 10 MB or a million elements blocks Redis when it is deleted, expired, migrated or read whole (HGETALL, SMEMBERS), and concentrates memory and traffic on one node.',
  check(ctx) {
    const big = needSample(ctx).bigKeys.filter((k) => k.bytes >= BIG_BYTES || k.length >= BIG_ELEMENTS);
    if (big.length === 0) return undefined;
    const shown = big.slice(0, 5).map((k) => `${safeText(k.key)} (${k.type}, ${formatBytes(k.bytes)}, ${formatCount(k.length)} elements${ctx.mode === 'cluster' ? `, ${k.node}` : ''})`);
    return {
      detail: `${big.length} key(s) of 10 MB or 1M elements or more: ${shown.join(', ')}`,
      evidence: { count: big.length, keys: big.slice(0, 20).map((k) => safeText(k.key)), biggestBytes: Math.max(...big.map((k) => k.bytes)) },
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

const STAMPEDE_KEYS = 1000;

const expiryStampede: TargetRule = {
  id: 'expiry-stampede',
  scope: 'target',
  severity: 'warning',
  title: 'Many keys expire in the same second',
  why: 'When a batch of cache keys expires together, every reader misses at once and the database behind the cache takes the whole load (a cache stampede); the expiry cycle also spikes latency.',
  check(ctx) {
    const sample = needSample(ctx);
    // Expiry clusters count the keys read; scale them to the whole keyspace when sampled.
    const scale = sample.coverage.sampled && sample.coverage.keysSeen > 0 ? sample.coverage.dbsize / sample.coverage.keysSeen : 1;
    const clusters = sample.expiryClusters
      .map((c) => ({ ...c, keys: Math.round(c.keys * scale) }))
      .filter((c) => c.keys >= STAMPEDE_KEYS)
      .sort((a, b) => b.keys - a.keys);
    if (clusters.length === 0) return undefined;
    const shown = clusters.slice(0, 3).map((c) => `${formatCount(c.keys)} keys at ${new Date(c.second * 1000).toISOString()} (mostly ${safeText(c.topPattern)})`);
    return {
      detail: shown.join('; '),
      evidence: { seconds: clusters.length, largestKeys: clusters[0].keys, largestAt: clusters[0].second, topPatterns: clusters.slice(0, 5).map((c) => safeText(c.topPattern)) },
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
