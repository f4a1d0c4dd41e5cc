/**
 * Clients and traffic: connections near maxclients, connections refused, and a cache hit ratio
 * too low to be worth the memory.
 */
import { formatCount, formatPercent } from '../format.js';
import { requireInfoNumber, setting } from '../facts.js';
import type { NodeRule } from '../types.js';

const clientsNearMax: NodeRule = {
  id: 'clients-near-maxclients',
  scope: 'node',
  severity: 'warning',
  title: 'Connections are close to maxclients',
  why: 'At maxclients Redis refuses new connections ("max number of clients reached"): new application instances and deploys fail to connect.',
  check({ node }) {
    const connected = requireInfoNumber(node, 'connected_clients');
    const max = Number(setting(node, 'maxclients'));
    if (!(max > 0) || connected / max < 0.8) return undefined;
    return {
      severity: connected / max >= 0.95 ? 'critical' : 'warning',
      detail: `${formatCount(connected)} of ${formatCount(max)} connections in use (${formatPercent(connected / max)})`,
      evidence: { connectedClients: connected, maxclients: max, ratio: Math.round((connected / max) * 1000) / 1000 },
    };
  },
  fix(hit) {
    return [
      'find who holds them: CLIENT LIST (group by addr and name); pool connections in the application',
      `raise the limit if the host allows (ulimit -n): CONFIG SET maxclients ${Math.ceil(Number(hit.evidence.maxclients) * 2)}`,
      'close idle connections: CONFIG SET timeout 300',
    ];
  },
};

const rejectedConnections: NodeRule = {
  id: 'rejected-connections',
  scope: 'node',
  severity: 'warning',
  title: 'Connections were rejected',
  why: 'Clients were turned away because maxclients was reached: requests failed, and retry storms tend to make it worse.',
  check({ node }) {
    const rejected = requireInfoNumber(node, 'rejected_connections');
    if (rejected <= 0) return undefined;
    return {
      detail: `${formatCount(rejected)} connections rejected since start (maxclients ${setting(node, 'maxclients')})`,
      evidence: { rejectedConnections: rejected, maxclients: Number(setting(node, 'maxclients')) },
    };
  },
  fix() {
    return [
      'CLIENT LIST to find the clients holding connections; fix leaks in connection pools',
      'raise maxclients (CONFIG SET maxclients <n>) within ulimit -n',
    ];
  },
};

/** Below this many lookups the ratio says nothing (a freshly started or idle server). */
const MIN_LOOKUPS = 10_000;

const hitRatioLow: NodeRule = {
  id: 'hit-ratio-low',
  scope: 'node',
  severity: 'info',
  title: 'Low cache hit ratio',
  why: 'Most reads miss: memory is spent on keys that are not read again, or TTLs are shorter than the reuse interval; the backing store carries the load.',
  check({ node }) {
    const hits = requireInfoNumber(node, 'keyspace_hits');
    const misses = requireInfoNumber(node, 'keyspace_misses');
    const lookups = hits + misses;
    if (lookups < MIN_LOOKUPS || hits / lookups >= 0.5) return undefined;
    return {
      detail: `${formatPercent(hits / lookups)} of ${formatCount(lookups)} lookups hit`,
      evidence: { keyspaceHits: hits, keyspaceMisses: misses, hitRatio: Math.round((hits / lookups) * 1000) / 1000 },
    };
  },
  fix() {
    return [
      'check which patterns are read: keywarden scan shows TTL distributions per pattern (TTLs shorter than the reuse interval never hit)',
      'stop caching what is read once; the counters reset with CONFIG RESETSTAT after a change',
    ];
  },
};

export const clientRules = [clientsNearMax, rejectedConnections, hitRatioLow] as const satisfies readonly NodeRule[];
