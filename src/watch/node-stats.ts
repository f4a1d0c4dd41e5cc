/**
 * Server figures from one INFO call per node: the numbers on-call engineers look at during a
 * memory incident. Read in the background on a timer, never during a scrape.
 */
import type { RedisNode } from '../target/connect.js';
import { parseInfo, parseKeyspace } from '../target/info.js';

export interface NodeStats {
  address: string;
  role: 'master' | 'replica';
  /** Unix ms of this reading. */
  at: number;
  /** Changes when the server restarts: checkpoints of the old process are then worthless. */
  runId: string;
  usedMemory: number;
  /** 0 when no maxmemory is set. */
  maxMemory: number;
  evictionPolicy: string;
  fragmentationRatio: number;
  evictedKeys: number;
  expiredKeys: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  connectedClients: number;
  rejectedConnections: number;
  opsPerSecond: number;
  dbs: Array<{ db: number; keys: number; expires: number }>;
  /** On a primary: bytes each replica is behind. */
  replicas: Array<{ address: string; lagBytes: number }>;
  /** On a replica: whether the link to its primary is up, and seconds since it last heard from it. */
  masterLinkUp?: boolean;
  masterLastIoSeconds?: number;
}

const num = (v: string | undefined): number => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

/** Parse a full INFO reply into NodeStats. */
export function statsFromInfo(address: string, role: NodeStats['role'], text: string, at = Date.now()): NodeStats {
  const info = parseInfo(text);
  const masterOffset = num(info.master_repl_offset);
  const replicas: NodeStats['replicas'] = [];
  for (const [field, value] of Object.entries(info)) {
    if (!/^slave\d+$/.test(field)) continue;
    const r = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    replicas.push({ address: `${r.ip}:${r.port}`, lagBytes: Math.max(0, masterOffset - num(r.offset)) });
  }
  const stats: NodeStats = {
    address,
    role: info.role === 'slave' ? 'replica' : role,
    at,
    runId: info.run_id ?? '',
    usedMemory: num(info.used_memory),
    maxMemory: num(info.maxmemory),
    evictionPolicy: info.maxmemory_policy ?? 'unknown',
    fragmentationRatio: num(info.mem_fragmentation_ratio),
    evictedKeys: num(info.evicted_keys),
    expiredKeys: num(info.expired_keys),
    keyspaceHits: num(info.keyspace_hits),
    keyspaceMisses: num(info.keyspace_misses),
    connectedClients: num(info.connected_clients),
    rejectedConnections: num(info.rejected_connections),
    opsPerSecond: num(info.instantaneous_ops_per_sec),
    dbs: [...parseKeyspace(info).entries()].map(([db, v]) => ({ db, ...v })),
    replicas,
  };
  if (info.role === 'slave') {
    stats.masterLinkUp = info.master_link_status === 'up';
    stats.masterLastIoSeconds = num(info.master_last_io_seconds_ago);
  }
  return stats;
}

/** Read one node; rejects when the connection is gone. */
export async function readNodeStats(node: RedisNode): Promise<NodeStats> {
  return statsFromInfo(node.address, node.role, await node.client.info());
}

/** Keys without a TTL from INFO keyspace (keys − expires): exact, live, and free. */
export function noTtlKeysOf(stats: NodeStats, db?: number): number {
  return stats.dbs.filter((d) => db === undefined || d.db === db).reduce((s, d) => s + Math.max(0, d.keys - d.expires), 0);
}
