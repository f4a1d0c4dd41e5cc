/**
 * Replication: replicas falling behind, and replicas that lost their primary.
 */
import { formatSeconds } from '../format.js';
import { infoNumber, need } from '../facts.js';
import type { NodeRule } from '../types.js';

const LAG_SECONDS = 5;

interface ReplicaLine {
  address: string;
  state: string;
  lag: number;
  behindBytes: number;
}

function replicasOf(info: Record<string, string>): ReplicaLine[] {
  const primaryOffset = Number(info.master_repl_offset ?? 0);
  return Object.entries(info)
    .filter(([k]) => /^slave\d+$/.test(k))
    .map(([, v]) => {
      const f = Object.fromEntries(v.split(',').map((kv) => kv.split('=') as [string, string]));
      return {
        address: `${f.ip}:${f.port}`,
        state: f.state ?? 'unknown',
        lag: Number(f.lag ?? 0),
        behindBytes: Math.max(0, primaryOffset - Number(f.offset ?? 0)),
      };
    });
}

const replicationLag: NodeRule = {
  id: 'replication-lag',
  scope: 'node',
  severity: 'warning',
  title: 'Replicas are behind or not online',
  why: 'A lagging replica serves stale reads and, on failover, loses the writes it had not received; a replica stuck syncing gives no protection at all.',
  check({ node }) {
    if (node.role !== 'master') return undefined;
    const behind = replicasOf(need(node, 'info')).filter((r) => r.state !== 'online' || r.lag >= LAG_SECONDS);
    if (behind.length === 0) return undefined;
    return {
      detail: behind.map((r) => `${r.address} ${r.state}, last ack ${r.lag}s ago, ${r.behindBytes} bytes behind`).join('; '),
      evidence: {
        replicas: behind.map((r) => r.address),
        states: behind.map((r) => r.state),
        lagSeconds: behind.map((r) => r.lag),
        behindBytes: behind.map((r) => r.behindBytes),
      },
    };
  },
  fix() {
    return [
      'on the replica: INFO replication and its log (slow disk, full sync loops, client-output-buffer-limit replica reached)',
      'raise the replication buffer if full syncs repeat: CONFIG SET client-output-buffer-limit "replica 512mb 128mb 60" and repl-backlog-size 256mb',
      'keywarden fix throttles on replica lag: run big fixes with it, not with ad hoc scripts',
    ];
  },
};

const replicaLinkDown: NodeRule = {
  id: 'replica-link-down',
  scope: 'node',
  severity: 'critical',
  title: 'Replica has lost its primary',
  why: 'The replica no longer receives writes: its reads go stale, and a failover to it would lose everything since the link went down.',
  check({ node }) {
    const info = need(node, 'info');
    if (info.role !== 'slave' || info.master_link_status === 'up') return undefined;
    const since = infoNumber(node, 'master_link_down_since_seconds');
    return {
      detail: `link to ${info.master_host}:${info.master_port} is ${info.master_link_status}${since !== undefined && since >= 0 ? ` for ${formatSeconds(since)}` : ''}`,
      evidence: { primary: `${info.master_host}:${info.master_port}`, linkStatus: info.master_link_status ?? null, downSinceSeconds: since ?? null },
    };
  },
  fix(hit) {
    return [
      `check the primary ${String(hit.evidence.primary)} is up and reachable from the replica (and masterauth matches)`,
      'read the replica log for the reason: "Error condition on socket for SYNC", "MASTER aborted replication"',
    ];
  },
};

export const replicationRules = [replicationLag, replicaLinkDown] as const satisfies readonly NodeRule[];
