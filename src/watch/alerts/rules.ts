/**
 * The alert rules, as data. Each mirrors a rule in deploy/prometheus/alerts.yml (same name,
 * same meaning), so a team can alert from keywarden or from Prometheus and get the same pages.
 * Thresholds come from the policy's `alerts:` section; a rule without a threshold is off,
 * except KeywardenDown, which an on-call engineer always wants.
 */
import { formatBytes } from '../../units.js';
import { formatDuration } from '../../policy/index.js';
import { displayPattern } from '../../display.js';
import { mergeFigures, OTHER_PATTERN } from '../figures.js';
import { noTtlKeysOf } from '../node-stats.js';
import type { AlertCandidate, AlertContext, AlertRule } from './types.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Failed passes in a row before KeywardenScanFailing fires: one failure may be a blip (a restart). */
export const SCAN_FAILURES_TO_ALERT = 3;

/** The patterns holding most keys without TTL, from the last completed pass: the likely cause. */
/** Candidates whose summary names the top patterns say so until a pass has named them. */
const pending = (ctx: AlertContext) => (ctx.published ? {} : { patternsPending: true as const });

function topNoTtl(ctx: AlertContext, n = 3): string {
  if (!ctx.published) return '; top patterns without TTL: after the first pass';
  const top = mergeFigures(Object.values(ctx.published.nodes))
    .filter((f) => f.pattern !== OTHER_PATTERN && f.noTtlKeys > 0)
    .sort((a, b) => b.noTtlKeys - a.noTtlKeys)
    .slice(0, n);
  return top.length > 0 ? `; most without TTL: ${top.map((f) => `${displayPattern(f.pattern)} (${f.noTtlKeys})`).join(', ')}` : '';
}

/** Evictions in the window: the sum of increases of evicted_keys (a restart resets the counter). */
export function evictionsIn(samples: readonly { t: number; evicted: number }[], since: number): number {
  let total = 0;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i].t < since) continue;
    const d = samples[i].evicted - samples[i - 1].evicted;
    total += d >= 0 ? d : samples[i].evicted;
  }
  return total;
}

export const ALERT_RULES = [
  {
    name: 'KeywardenDown',
    severity: 'critical',
    evaluate(ctx) {
      const down = ctx.knownNodes.filter((n) => ctx.nodeUp.get(n) !== true);
      return down.map((node) => ({
        labels: { node },
        summary: `keywarden cannot read ${node}${ctx.lastError ? `: ${ctx.lastError}` : ''}`,
        value: 0,
        threshold: 1,
      }));
    },
  },
  {
    // The node answers (up is 1) but no pass completes: a user without +scan, a server that
    // refuses (BUSY, LOADING), a timeout on every pass. Figures silently go stale without it.
    name: 'KeywardenScanFailing',
    severity: 'warning',
    evaluate(ctx) {
      const f = ctx.passFailure;
      if (!f || f.count < SCAN_FAILURES_TO_ALERT) return [];
      return [
        {
          labels: { reason: f.reason },
          summary: `${f.count} passes over the keyspace failed in a row since ${new Date(f.since).toISOString()}: ${f.error}`,
          value: f.count,
          threshold: SCAN_FAILURES_TO_ALERT,
        },
      ];
    },
  },
  {
    // --enforce is on but cannot do its work (its journal cannot be written, writes refused):
    // keys without TTL keep accumulating while everyone believes they are being fixed.
    name: 'KeywardenEnforceFailing',
    severity: 'warning',
    evaluate(ctx) {
      const f = ctx.enforceFailure;
      if (!f) return [];
      return [
        {
          labels: {},
          summary: `--enforce failed ${f.count} time${f.count === 1 ? '' : 's'} in a row since ${new Date(f.since).toISOString()}: ${f.error}`,
          value: f.count,
          threshold: 1,
        },
      ];
    },
  },
  {
    name: 'KeywardenNoTtlKeys',
    severity: 'warning',
    evaluate(ctx) {
      const limit = ctx.thresholds.noTtlKeys;
      if (limit === undefined) return [];
      const total =
        ctx.stats.length > 0
          ? ctx.stats.reduce((s, n) => s + noTtlKeysOf(n, ctx.db), 0)
          : Object.values(ctx.published?.nodes ?? {}).reduce((s, list) => s + list.reduce((a, f) => a + f.noTtlKeys, 0), 0);
      if (total <= limit) return [];
      return [{ labels: {}, summary: `${total} keys have no TTL (threshold ${limit})${topNoTtl(ctx)}`, value: total, threshold: limit, ...pending(ctx) }];
    },
  },
  {
    name: 'KeywardenMemoryUsedRatio',
    severity: 'critical',
    evaluate(ctx) {
      const ratio = ctx.thresholds.memoryUsedRatio;
      if (ratio === undefined) return [];
      return ctx.stats
        .filter((s) => s.maxMemory > 0 && s.usedMemory / s.maxMemory >= ratio)
        .map((s) => ({
          labels: { node: s.address },
          summary: `${s.address} uses ${formatBytes(s.usedMemory)} of ${formatBytes(s.maxMemory)} (${pct(s.usedMemory / s.maxMemory)}, threshold ${pct(ratio)}), policy ${s.evictionPolicy}${topNoTtl(ctx)}`,
          value: s.usedMemory / s.maxMemory,
          threshold: ratio,
          ...pending(ctx),
        }));
    },
  },
  {
    name: 'KeywardenEvictions',
    severity: 'critical',
    evaluate(ctx) {
      if (ctx.thresholds.evictions !== true) return [];
      const since = ctx.now - ctx.evictionWindowMs;
      const out: AlertCandidate[] = [];
      for (const [node, samples] of Object.entries(ctx.history)) {
        const evicted = evictionsIn(samples, since);
        if (evicted > 0) {
          const policy = ctx.stats.find((s) => s.address === node)?.evictionPolicy ?? 'unknown';
          out.push({
            labels: { node },
            summary: `${node} evicted ${evicted} keys in the last ${formatDuration(ctx.evictionWindowMs)} (maxmemory-policy ${policy})`,
            value: evicted,
            threshold: 0,
          });
        }
      }
      return out;
    },
  },
  {
    name: 'KeywardenNoTtlGrowth',
    severity: 'warning',
    evaluate(ctx) {
      const growth = ctx.thresholds.noTtlGrowth;
      if (!growth) return [];
      const recent = ctx.patternHistory.filter((h) => h.t >= ctx.now - growth.window);
      if (recent.length < 2) return [];
      const latest = recent[recent.length - 1].noTtl;
      const out: AlertCandidate[] = [];
      for (const [pattern, now] of Object.entries(latest)) {
        const before = recent.slice(0, -1).map((h) => h.noTtl[pattern] ?? 0);
        const increase = now - Math.min(...before);
        if (increase >= growth.minIncrease) {
          out.push({
            labels: { pattern: displayPattern(pattern) },
            summary: `${displayPattern(pattern)}: ${increase} more keys without TTL within ${formatDuration(growth.window)} (now ${now})`,
            value: increase,
            threshold: growth.minIncrease,
          });
        }
      }
      return out;
    },
  },
  {
    name: 'KeywardenTimeToFull',
    severity: 'critical',
    evaluate(ctx) {
      const horizon = ctx.thresholds.timeToFullMs;
      if (horizon === undefined) return [];
      const out: AlertCandidate[] = [];
      for (const [node, f] of ctx.forecasts) {
        if (f.timeToFullMs === undefined || f.timeToFullMs >= horizon) continue;
        out.push({
          labels: { node },
          summary: `${node} reaches maxmemory in about ${formatDuration(Math.max(1000, Math.round(f.timeToFullMs / 1000) * 1000))} at ${formatBytes(f.bytesPerSecond * 3600)}/h (threshold ${formatDuration(horizon)})${topNoTtl(ctx)}`,
          value: f.timeToFullMs / 1000,
          threshold: horizon / 1000,
          ...pending(ctx),
        });
      }
      return out;
    },
  },
  {
    name: 'KeywardenDoctorCritical',
    severity: 'critical',
    evaluate(ctx) {
      return (ctx.doctor?.findings ?? [])
        .filter((f) => f.severity === 'critical')
        .map((f) => ({ labels: { finding: f.id, ...(f.node ? { node: f.node } : {}) }, summary: `${f.title}: ${f.detail}`, value: 1, threshold: 0 }));
    },
  },
] as const satisfies readonly AlertRule[];
