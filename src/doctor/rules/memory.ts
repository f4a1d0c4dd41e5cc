/**
 * Memory limits: no maxmemory, noeviction heading for the wall, memory near the limit (with a
 * time-to-full estimate), evictions already happening.
 */
import { formatBytes, formatCount, formatPercent, formatSeconds, confSize } from '../format.js';
import { infoNumber, need, requireInfoNumber, setting } from '../facts.js';
import type { NodeRule } from '../types.js';
import { maxmemory, ttlCoverage, usedRatio, describeCoverage, policyArg, shareCoverage } from './shared.js';

const maxmemoryUnset: NodeRule = {
  id: 'maxmemory-unset',
  scope: 'node',
  severity: 'warning',
  title: 'maxmemory is not set',
  why: 'Redis grows until the kernel OOM killer ends it (or the host swaps): every client fails at once and unsaved data is lost.',
  check({ node }) {
    if (node.role !== 'master' || maxmemory(node) > 0) return undefined;
    const used = node.info ? infoNumber(node, 'used_memory') : undefined;
    const system = node.info ? infoNumber(node, 'total_system_memory') : undefined;
    const share = used !== undefined && system ? used / system : undefined;
    return {
      severity: share !== undefined && share >= 0.8 ? 'critical' : 'warning',
      detail:
        used === undefined
          ? 'maxmemory is 0 (no limit)'
          : `maxmemory is 0 (no limit); used ${formatBytes(used)}${system ? ` of ${formatBytes(system)} system memory (${formatPercent(share ?? 0)})` : ''}`,
      evidence: { maxmemory: 0, usedMemoryBytes: used ?? null, totalSystemMemoryBytes: system ?? null },
    };
  },
  fix(hit) {
    const system = Number(hit.evidence.totalSystemMemoryBytes ?? 0);
    // Leave a quarter of the host for fork copy-on-write during saves, buffers and the OS.
    const size = system > 0 ? confSize(system * 0.75) : '<75% of the memory Redis may use>';
    return [
      `CONFIG SET maxmemory ${size}`,
      `redis.conf: maxmemory ${size}`,
      'pick the eviction policy that fits the data (keywarden doctor reports on it once maxmemory is set)',
    ];
  },
};

const noevictionFullRisk: NodeRule = {
  id: 'noeviction-full-risk',
  scope: 'node',
  severity: 'warning',
  title: 'maxmemory-policy noeviction: writes fail when memory reaches the limit',
  why: 'At maxmemory every write (SET, INCR, LPUSH…) fails with OOM errors until memory is freed by hand; keys without TTL never free themselves.',
  check(ctx) {
    const { node } = ctx;
    if (node.role !== 'master' || setting(node, 'maxmemory-policy') !== 'noeviction' || maxmemory(node) <= 0) return undefined;
    const mem = usedRatio(node);
    const coverage = ttlCoverage(ctx);
    const durableOnly = ctx.sample?.patterns.every((p) => p.noTtlKeys === 0 || p.rule?.role === 'durable') ?? false;
    const leaking = coverage !== undefined && coverage.noTtlShare > 0 && !durableOnly;
    const severity = mem && mem.ratio >= 0.8 ? 'critical' : leaking ? 'warning' : 'info';
    const usedText = mem
      ? `used ${formatBytes(mem.used)} of ${formatBytes(mem.limit)} (${formatPercent(mem.ratio)})`
      : `maxmemory ${formatBytes(maxmemory(node))}`;
    return {
      severity,
      detail: `noeviction, ${usedText}${coverage ? `; no TTL on ${describeCoverage(coverage)}` : ''}`,
      evidence: {
        policy: 'noeviction',
        maxmemoryBytes: maxmemory(node),
        usedMemoryBytes: mem?.used ?? null,
        usedRatio: mem ? round(mem.ratio) : null,
        noTtlRatio: coverage ? round(coverage.noTtlShare) : null,
        noTtlBasis: coverage?.basis ?? null,
      },
      coverage: shareCoverage(coverage),
    };
  },
  fix(_hit, ctx) {
    return [
      `give the leaking keys TTLs: keywarden fix --policy ${policyArg(ctx)} (dry run), then add --apply`,
      'if the data is a cache: CONFIG SET maxmemory-policy allkeys-lru (or volatile-lru once everything has a TTL)',
      'if it is durable data: keep noeviction, raise maxmemory (CONFIG SET maxmemory <size>) and alert on keywarden watch --policy',
    ];
  },
};

const memoryNearLimit: NodeRule = {
  id: 'memory-near-limit',
  scope: 'node',
  severity: 'warning',
  title: 'Memory is close to maxmemory',
  why: 'At the limit, noeviction fails writes and the eviction policies start deleting keys the application may still need.',
  check(ctx) {
    const { node } = ctx;
    need(node, 'info');
    const mem = usedRatio(node);
    const warnAt = ctx.policy?.alerts.memoryUsedRatio ?? 0.8;
    if (!mem || mem.ratio < Math.min(warnAt, 0.9)) return undefined;
    const rate = node.growth && node.growth.bytesPerSecond > 0 ? node.growth.bytesPerSecond : undefined;
    const secondsToFull = rate ? Math.max(0, mem.limit - mem.used) / rate : undefined;
    const policy = setting(node, 'maxmemory-policy');
    return {
      severity: mem.ratio >= 0.9 ? 'critical' : 'warning',
      detail:
        `used ${formatBytes(mem.used)} of ${formatBytes(mem.limit)} (${formatPercent(mem.ratio)}), policy ${policy}` +
        (secondsToFull !== undefined
          ? `; grew ${formatBytes(rate ?? 0)}/s over ${formatSeconds((node.growth?.windowMs ?? 0) / 1000)}: full in about ${formatSeconds(secondsToFull)} at that rate`
          : ''),
      evidence: {
        usedMemoryBytes: mem.used,
        maxmemoryBytes: mem.limit,
        usedRatio: round(mem.ratio),
        policy,
        growthBytesPerSecond: rate ?? null,
        secondsToFull: secondsToFull === undefined ? null : Math.round(secondsToFull),
      },
    };
  },
  fix(hit, ctx) {
    const limit = Number(hit.evidence.maxmemoryBytes);
    return [
      'find what is filling it: keywarden scan --sample 1%',
      `free memory by giving keys TTLs: keywarden fix --policy ${policyArg(ctx)} --apply`,
      `or raise the limit if the host has room: CONFIG SET maxmemory ${confSize(limit * 1.5)}`,
    ];
  },
};

const evictionsOccurring: NodeRule = {
  id: 'evictions-occurring',
  scope: 'node',
  severity: 'warning',
  title: 'Redis is evicting keys',
  why: 'Eviction deletes keys the application did not ask to delete: sessions log out, caches thrash, and data without a copy elsewhere is gone.',
  check({ node }) {
    const evicted = requireInfoNumber(node, 'evicted_keys');
    if (evicted <= 0) return undefined;
    const uptime = infoNumber(node, 'uptime_in_seconds') ?? 0;
    const policy = setting(node, 'maxmemory-policy');
    return {
      detail: `${formatCount(evicted)} keys evicted in ${formatSeconds(uptime)} of uptime (policy ${policy})`,
      evidence: { evictedKeys: evicted, uptimeSeconds: uptime, evictedPerHour: uptime > 0 ? Math.round((evicted / uptime) * 3600) : null, policy },
    };
  },
  fix(_hit, ctx) {
    return [
      'see which patterns fill memory and have no TTL: keywarden scan --sample 1%',
      `give them TTLs: keywarden fix --policy ${policyArg(ctx)} --apply, or raise maxmemory (CONFIG SET maxmemory <size>)`,
      'evicted_keys is cumulative since start: compare it over time, or let keywarden watch alert on evictions (alerts.evictions in the policy)',
    ];
  },
};

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export const memoryRules = [maxmemoryUnset, noevictionFullRisk, memoryNearLimit, evictionsOccurring] as const satisfies readonly NodeRule[];
