/**
 * The dashboard's data (`/api/state`): plain JSON built from the cached state. Key names and
 * patterns travel as data (already escaped by `displayKey`); the page puts them in the DOM
 * with textContent only.
 */
import { formatDuration } from '../policy/index.js';
import { TTL_BUCKETS } from '../keyspace/report.js';
import { displayPattern } from '../display.js';
import { mergeFigures, totalOf } from './figures.js';
import { noTtlKeysOf } from './node-stats.js';
import { alertJson } from './alerts/webhook.js';
import type { WatchView } from './view.js';

export function dashboardData(view: WatchView) {
  const { live, state } = view;
  const published = state.published;
  const patterns = mergeFigures(Object.values(published?.nodes ?? {}));
  const total = totalOf(patterns);
  const forecasts = view.forecasts();
  return {
    kind: 'keywarden.watch',
    schemaVersion: 1,
    now: Date.now(),
    target: { url: view.target, mode: live.mode, redisVersion: live.redisVersion, connected: live.connected, lastError: live.lastError },
    settings: {
      interval: formatDuration(view.settings.intervalMs),
      top: view.settings.top,
      enforce: view.settings.enforce,
      forecastWindowMs: view.settings.forecastWindowMs,
      policy: view.settings.policy === true,
    },
    scan: {
      running: live.scanning,
      progressRatio: live.scanning || state.pass ? live.progressRatio : 1,
      keysSeen: live.passKeysSeen,
      passes: state.passes,
      lastCompleteAt: published?.completedAt,
      durationMs: published?.durationMs,
      keysInLastPass: published?.keysSeen,
    },
    nodes: live.knownNodes.map((address) => {
      const s = live.stats.get(address);
      return {
        address,
        up: live.nodeUp.get(address) === true,
        role: s?.role,
        usedMemory: s?.usedMemory,
        maxMemory: s?.maxMemory,
        evictionPolicy: s?.evictionPolicy,
        keys: s?.dbs.reduce((a, d) => a + d.keys, 0),
        noTtlKeys: s ? noTtlKeysOf(s) : undefined,
        evictedKeys: s?.evictedKeys,
        opsPerSecond: s?.opsPerSecond,
      };
    }),
    totals: { keys: total.keys, bytes: total.bytes, noTtlKeys: total.noTtlKeys, noTtlBytes: total.noTtlBytes },
    patterns: patterns.map((f) => ({
      pattern: displayPattern(f.pattern),
      keys: f.keys,
      bytes: f.bytes,
      noTtlKeys: f.noTtlKeys,
      noTtlBytes: f.noTtlBytes,
      violations: f.violations,
      examples: f.examples,
    })),
    ttl: TTL_BUCKETS.map((bucket, i) => ({ bucket, keys: total.ttl[i] ?? 0 })),
    memory: Object.entries(state.history).map(([node, samples]) => {
      const f = forecasts.get(node);
      return {
        node,
        samples: samples.map((s) => ({ t: s.t, used: s.used, max: s.max })),
        forecast: f ? { bytesPerSecond: f.bytesPerSecond, fittedUsed: f.fittedUsed, timeToFullMs: f.timeToFullMs } : undefined,
      };
    }),
    alerts: { firing: view.alerts().map(alertJson), resolved: view.resolvedAlerts().slice(0, 10).map(alertJson) },
    doctor: live.doctor
      ? {
          at: live.doctor.at,
          findings: live.doctor.report.findings.map((f) => ({ id: f.id, severity: f.severity, title: f.title, detail: f.detail, node: f.node, fix: f.fix })),
        }
      : undefined,
  };
}

export type DashboardData = ReturnType<typeof dashboardData>;
