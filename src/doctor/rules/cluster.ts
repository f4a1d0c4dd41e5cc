/**
 * Redis Cluster as a whole: slots without a serving master, and memory spread unevenly over
 * the masters.
 */
import { formatBytes } from '../format.js';
import { MissingFacts } from '../facts.js';
import type { TargetRule } from '../types.js';

const SLOTS = 16384;

const slotsUncovered: TargetRule = {
  id: 'cluster-slots-uncovered',
  scope: 'target',
  severity: 'critical',
  title: 'Cluster slots are not all served',
  why: 'Keys in unserved slots cannot be read or written (CLUSTERDOWN), and with cluster-require-full-coverage yes the whole cluster refuses queries.',
  check(ctx) {
    if (ctx.mode !== 'cluster') return undefined;
    const views = ctx.nodes.filter((n) => n.cluster).map((n) => ({ node: n.label, info: n.cluster?.info ?? {} }));
    if (views.length === 0) throw new MissingFacts(ctx.nodes[0]?.unavailable.cluster ?? 'needs CLUSTER INFO');
    const bad = views.filter(({ info }) => info.cluster_state !== 'ok' || Number(info.cluster_slots_assigned) < SLOTS || Number(info.cluster_slots_fail) > 0);
    if (bad.length === 0) return undefined;
    const worst = bad[0].info;
    return {
      detail: `cluster_state ${worst.cluster_state}, ${worst.cluster_slots_assigned} of ${SLOTS} slots assigned, ${worst.cluster_slots_fail ?? 0} failing (seen by ${bad.map((b) => b.node).join(', ')})`,
      evidence: {
        clusterState: worst.cluster_state ?? null,
        slotsAssigned: Number(worst.cluster_slots_assigned),
        slotsFail: Number(worst.cluster_slots_fail ?? 0),
        slotsPfail: Number(worst.cluster_slots_pfail ?? 0),
        nodes: bad.map((b) => b.node),
      },
    };
  },
  fix() {
    return [
      'redis-cli --cluster check <host:port> to list unassigned or failing slots',
      'redis-cli --cluster fix <host:port> assigns uncovered slots; bring failed masters back or promote their replicas (CLUSTER FAILOVER on the replica)',
    ];
  },
};

const IMBALANCE_RATIO = 1.5;
const IMBALANCE_BYTES = 64 * 1024 * 1024;

const memoryImbalance: TargetRule = {
  id: 'cluster-memory-imbalance',
  scope: 'target',
  severity: 'warning',
  title: 'Memory is unevenly spread over the cluster masters',
  why: 'The fullest master hits maxmemory (and evicts or fails writes) while the others have room; the usual causes are a big key or a hot hash tag.',
  check(ctx) {
    if (ctx.mode !== 'cluster') return undefined;
    const masters = ctx.nodes.filter((n) => n.source === 'live' && n.role === 'master' && n.info);
    if (masters.length < 2) return undefined;
    const sizes = masters
      .map((n) => ({ node: n.label, bytes: Number(n.info?.used_memory_dataset ?? n.info?.used_memory ?? 0) }))
      .sort((a, b) => a.bytes - b.bytes);
    const median = sizes[Math.floor((sizes.length - 1) / 2)].bytes;
    const largest = sizes[sizes.length - 1];
    if (largest.bytes < median * IMBALANCE_RATIO || largest.bytes - median < IMBALANCE_BYTES) return undefined;
    return {
      detail: `${largest.node} holds ${formatBytes(largest.bytes)} of data, the median master ${formatBytes(median)}`,
      evidence: {
        largestNode: largest.node,
        largestBytes: largest.bytes,
        medianBytes: median,
        nodes: sizes.map((s) => s.node),
        datasetBytes: sizes.map((s) => s.bytes),
      },
    };
  },
  fix(hit) {
    return [
      `find its big keys and hot hash tags: keywarden scan (big keys and patterns per node), or redis-cli -h <host> -p <port> --bigkeys on ${String(hit.evidence.largestNode)}`,
      'rebalance slots: redis-cli --cluster rebalance <host:port> (does not help when one key or hash tag is the cause: split it)',
    ];
  },
};

export const clusterRules = [slotsUncovered, memoryImbalance] as const satisfies readonly TargetRule[];
