/**
 * The Prometheus endpoint, with prom-client. Every value is read from the daemon's cached
 * state at scrape time (collect callbacks), so a scrape never touches Redis and answers in
 * milliseconds. Metric definitions are data; label cardinality is bounded: `pattern` takes at
 * most `--top` values plus `(other)`, `node` one per node, and no label ever holds a
 * credential (nodes are host:port, patterns are escaped globs).
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { displayPattern } from '../display.js';
import type { NodeStats } from './node-stats.js';
import type { PatternFigures } from './figures.js';
import type { WatchView } from './view.js';

type Labels = Record<string, string>;
type Sample = [Labels, number];

interface MetricDef {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labels: readonly string[];
  samples(view: WatchView): Sample[];
  /** Registered only when this holds (e.g. enforcement metrics only with --enforce). */
  when?(view: WatchView): boolean;
}

const perNode =
  (pick: (s: NodeStats) => number | undefined) =>
  (view: WatchView): Sample[] =>
    [...view.live.stats.values()].flatMap((s) => {
      const v = pick(s);
      return v === undefined ? [] : [[{ node: s.address }, v] as Sample];
    });

const perPattern =
  (pick: (f: PatternFigures) => number) =>
  (view: WatchView): Sample[] =>
    Object.entries(view.state.published?.nodes ?? {}).flatMap(([node, list]) =>
      list.map((f) => [{ node, pattern: displayPattern(f.pattern) }, pick(f)] as Sample),
    );

const single =
  (pick: (view: WatchView) => number | undefined) =>
  (view: WatchView): Sample[] => {
    const v = pick(view);
    return v === undefined ? [] : [[{}, v]];
  };

export const METRICS = [
  // Per pattern, from the last completed pass.
  {
    name: 'keywarden_pattern_keys',
    help: 'Keys per key pattern (last completed pass).',
    type: 'gauge',
    labels: ['node', 'pattern'],
    samples: perPattern((f) => f.keys),
  },
  {
    name: 'keywarden_pattern_bytes',
    help: 'Bytes (MEMORY USAGE) per key pattern (last completed pass).',
    type: 'gauge',
    labels: ['node', 'pattern'],
    samples: perPattern((f) => f.bytes),
  },
  {
    name: 'keywarden_pattern_no_ttl_keys',
    help: 'Keys without TTL per key pattern (last completed pass).',
    type: 'gauge',
    labels: ['node', 'pattern'],
    samples: perPattern((f) => f.noTtlKeys),
  },
  {
    name: 'keywarden_pattern_no_ttl_bytes',
    help: 'Bytes of keys without TTL per key pattern (last completed pass).',
    type: 'gauge',
    labels: ['node', 'pattern'],
    samples: perPattern((f) => f.noTtlBytes),
  },
  {
    name: 'keywarden_pattern_policy_violations',
    help: 'Keys breaking their policy rule (no TTL or a longer TTL) per pattern (last completed pass).',
    type: 'gauge',
    labels: ['node', 'pattern'],
    samples: perPattern((f) => f.violations),
  },
  // Server, from INFO (read in the background).
  { name: 'keywarden_memory_used_bytes', help: 'used_memory reported by INFO.', type: 'gauge', labels: ['node'], samples: perNode((s) => s.usedMemory) },
  { name: 'keywarden_memory_max_bytes', help: 'maxmemory (0 = no limit).', type: 'gauge', labels: ['node'], samples: perNode((s) => s.maxMemory) },
  {
    name: 'keywarden_memory_fragmentation_ratio',
    help: 'mem_fragmentation_ratio reported by INFO.',
    type: 'gauge',
    labels: ['node'],
    samples: perNode((s) => s.fragmentationRatio),
  },
  {
    name: 'keywarden_evicted_keys_total',
    help: 'Keys evicted by maxmemory-policy since the server started.',
    type: 'counter',
    labels: ['node'],
    samples: perNode((s) => s.evictedKeys),
  },
  {
    name: 'keywarden_expired_keys_total',
    help: 'Keys expired since the server started.',
    type: 'counter',
    labels: ['node'],
    samples: perNode((s) => s.expiredKeys),
  },
  {
    name: 'keywarden_keyspace_hits_total',
    help: 'Successful key lookups since the server started.',
    type: 'counter',
    labels: ['node'],
    samples: perNode((s) => s.keyspaceHits),
  },
  {
    name: 'keywarden_keyspace_misses_total',
    help: 'Failed key lookups since the server started.',
    type: 'counter',
    labels: ['node'],
    samples: perNode((s) => s.keyspaceMisses),
  },
  { name: 'keywarden_connected_clients', help: 'Client connections.', type: 'gauge', labels: ['node'], samples: perNode((s) => s.connectedClients) },
  {
    name: 'keywarden_rejected_connections_total',
    help: 'Connections rejected (maxclients) since the server started.',
    type: 'counter',
    labels: ['node'],
    samples: perNode((s) => s.rejectedConnections),
  },
  {
    name: 'keywarden_instantaneous_ops_per_second',
    help: 'Commands per second (instantaneous_ops_per_sec).',
    type: 'gauge',
    labels: ['node'],
    samples: perNode((s) => s.opsPerSecond),
  },
  {
    name: 'keywarden_db_keys',
    help: 'Keys per database (INFO keyspace); minus keywarden_db_expiring_keys gives the live count of keys without TTL.',
    type: 'gauge',
    labels: ['node', 'db'],
    samples: (view) => [...view.live.stats.values()].flatMap((s) => s.dbs.map((d) => [{ node: s.address, db: String(d.db) }, d.keys] as Sample)),
  },
  {
    name: 'keywarden_db_expiring_keys',
    help: 'Keys with a TTL per database (INFO keyspace).',
    type: 'gauge',
    labels: ['node', 'db'],
    samples: (view) => [...view.live.stats.values()].flatMap((s) => s.dbs.map((d) => [{ node: s.address, db: String(d.db) }, d.expires] as Sample)),
  },
  {
    name: 'keywarden_replication_lag_bytes',
    help: 'Bytes of replication stream a replica has not acknowledged (seen from its primary).',
    type: 'gauge',
    labels: ['node', 'replica'],
    samples: (view) => [...view.live.stats.values()].flatMap((s) => s.replicas.map((r) => [{ node: s.address, replica: r.address }, r.lagBytes] as Sample)),
  },
  {
    name: 'keywarden_replication_link_up',
    help: '1 when a replica node has its link to the primary up.',
    type: 'gauge',
    labels: ['node'],
    samples: perNode((s) => (s.masterLinkUp === undefined ? undefined : s.masterLinkUp ? 1 : 0)),
  },
  {
    name: 'keywarden_replication_last_io_seconds',
    help: 'Seconds since a replica node last heard from its primary.',
    type: 'gauge',
    labels: ['node'],
    samples: perNode((s) => s.masterLastIoSeconds),
  },
  {
    name: 'keywarden_memory_time_to_full_seconds',
    help: 'Forecast seconds until used memory reaches maxmemory (linear fit over the forecast window); absent when not growing.',
    type: 'gauge',
    labels: ['node'],
    samples: (view) => [...view.forecasts()].flatMap(([node, f]) => (f.timeToFullMs === undefined ? [] : [[{ node }, f.timeToFullMs / 1000] as Sample])),
  },
  // The daemon itself.
  {
    name: 'keywarden_up',
    help: '1 when keywarden can read the node, 0 when it cannot (connection lost, server down).',
    type: 'gauge',
    labels: ['node'],
    samples: (view) => view.live.knownNodes.map((node) => [{ node }, view.live.nodeUp.get(node) ? 1 : 0] as Sample),
  },
  {
    name: 'keywarden_enforce_errors_total',
    help: 'Enforcement runs (--enforce) that failed: journal not writable, connection lost, refused writes.',
    type: 'counter',
    labels: [],
    samples: single((v) => v.live.enforceErrors),
  },
  {
    name: 'keywarden_scan_errors_total',
    help: 'Passes over the keyspace that failed, by reason (connection, timeout, permission, server_state, other).',
    type: 'counter',
    labels: ['reason'],
    samples: (view) => Object.entries(view.live.scanErrors).map(([reason, n]) => [{ reason }, n] as Sample),
  },
  {
    name: 'keywarden_scan_last_complete_timestamp_seconds',
    help: 'Unix time the last full pass over the keyspace completed.',
    type: 'gauge',
    labels: [],
    samples: single((v) => (v.state.published ? v.state.published.completedAt / 1000 : undefined)),
  },
  {
    name: 'keywarden_scan_duration_seconds',
    help: 'Scan time of the last completed pass.',
    type: 'gauge',
    labels: [],
    samples: single((v) => (v.state.published ? v.state.published.durationMs / 1000 : undefined)),
  },
  {
    name: 'keywarden_scan_progress_ratio',
    help: 'Progress of the pass in progress (1 between passes).',
    type: 'gauge',
    labels: [],
    samples: single((v) => (v.live.scanning || v.state.pass ? v.live.progressRatio : 1)),
  },
  { name: 'keywarden_scan_keys', help: 'Keys read so far in the pass in progress.', type: 'gauge', labels: [], samples: single((v) => v.live.passKeysSeen) },
  { name: 'keywarden_scan_passes_total', help: 'Completed passes over the keyspace.', type: 'counter', labels: [], samples: single((v) => v.state.passes) },
  {
    name: 'keywarden_reconnects_total',
    help: 'Times keywarden reconnected after losing the target.',
    type: 'counter',
    labels: [],
    samples: single((v) => v.live.reconnects),
  },
  {
    name: 'keywarden_alerts_firing',
    help: 'Alerts firing per rule.',
    type: 'gauge',
    labels: ['rule', 'severity'],
    samples: (view) => {
      const counts = new Map<string, Sample>();
      for (const a of view.alerts()) {
        const key = `${a.rule}\u0000${a.severity}`;
        const s = counts.get(key) ?? [{ rule: a.rule, severity: a.severity }, 0];
        s[1]++;
        counts.set(key, s);
      }
      return [...counts.values()];
    },
  },
  {
    name: 'keywarden_alert_notifications_total',
    help: 'Alert webhook deliveries by result.',
    type: 'counter',
    labels: ['result'],
    samples: (view) => [
      [{ result: 'delivered' }, view.notifications().delivered],
      [{ result: 'failed' }, view.notifications().failed],
    ],
  },
  {
    name: 'keywarden_enforced_keys_total',
    help: 'Keys given their policy TTL by --enforce.',
    type: 'counter',
    labels: [],
    samples: single((v) => v.live.enforced),
    when: (v) => v.settings.enforce,
  },
] as const satisfies readonly MetricDef[];

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** A registry whose every scrape renders `view` (plus the process's own default metrics). */
export function createMetricsRegistry(view: WatchView, defs: readonly MetricDef[] = METRICS): Registry {
  const registry = new Registry();
  for (const def of defs) {
    if (def.when && !def.when(view)) continue;
    const config = { name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] };
    if (def.type === 'gauge') {
      const gauge: Gauge = new Gauge({
        ...config,
        collect() {
          gauge.reset();
          for (const [labels, value] of def.samples(view)) gauge.set(labels, value);
        },
      });
    } else {
      const counter: Counter = new Counter({
        ...config,
        collect() {
          counter.reset();
          for (const [labels, value] of def.samples(view)) counter.inc(labels, Math.max(0, value));
        },
      });
    }
  }
  collectDefaultMetrics({ register: registry });
  // Gauges that prom-client names *_total: promtool (rightly) flags them, and they say
  // nothing about Redis. The process_* metrics (memory, CPU, start time) stay.
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  return registry;
}
