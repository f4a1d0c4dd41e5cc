/**
 * What the doctor knows about one node: read live (INFO, CONFIG, ACL, SLOWLOG, LATENCY, MEMORY
 * STATS, CLUSTER) or offline from a redis.conf. Every source may be missing — a managed service
 * disables CONFIG, a restricted user may not run ACL — so rules ask for facts through the
 * accessors here, which throw `MissingFacts` with the reason; the rule is then listed as skipped.
 */

export const FACT_SOURCES = ['info', 'config', 'acl', 'slowlog', 'latency', 'memory', 'cluster'] as const;
export type FactSource = (typeof FACT_SOURCES)[number];

export interface AclUser {
  name: string;
  enabled: boolean;
  /** True when the user authenticates without a password (`nopass`). */
  nopass: boolean;
  /** Dangerous commands this user may run (upper case), as far as the ACL says. */
  dangerous: string[];
}

export interface SlowlogEntry {
  id: number;
  timestamp: number;
  durationUs: number;
  args: string[];
  client: string;
  clientName: string;
}

export interface LatencyEvent {
  event: string;
  timestamp: number;
  latestMs: number;
  maxMs: number;
}

export interface ClusterFacts {
  info: Record<string, string>;
}

export interface NodeFacts {
  /** `host:port`, or the redis.conf path when read offline. */
  label: string;
  source: 'live' | 'conf';
  role: 'master' | 'replica';
  info?: Record<string, string>;
  /** CONFIG GET * (live) or the effective directives of a redis.conf (offline), lower-case names. */
  config?: Record<string, string>;
  acl?: AclUser[];
  slowlog?: SlowlogEntry[];
  latency?: LatencyEvent[];
  memory?: Record<string, number>;
  cluster?: ClusterFacts;
  /** Growth of used memory measured across the doctor's run, when it could be measured. */
  growth?: { bytesPerSecond: number; windowMs: number };
  /** Commands renamed or disabled (`rename-command X ""`) by the redis.conf, upper case → new name. */
  renamed?: Record<string, string>;
  /** redis.conf lint results, when read offline. */
  confLint?: { duplicates: Array<{ name: string; at: string[]; values: string[] }>; problems: Array<{ at: string; message: string }> };
  /** Why a source is missing: "CONFIG is disabled or not allowed for this user (NOPERM)". */
  unavailable: Partial<Record<FactSource, string>>;
}

/** Thrown by the accessors when a rule needs a fact this node could not give. */
export class MissingFacts extends Error {}

const OFFLINE_REASON: Record<FactSource, string> = {
  info: 'needs a live server (INFO)',
  config: 'needs the configuration (CONFIG GET or --config)',
  acl: 'needs ACL LIST from a live server',
  slowlog: 'needs SLOWLOG from a live server',
  latency: 'needs LATENCY from a live server',
  memory: 'needs MEMORY STATS from a live server',
  cluster: 'needs CLUSTER INFO from a live cluster node',
};

/** The source's data, or throw MissingFacts with the reason it is missing. */
export function need<S extends FactSource>(node: NodeFacts, source: S): NonNullable<NodeFacts[S]> {
  const value = node[source];
  if (value === undefined || value === null) throw new MissingFacts(node.unavailable[source] ?? OFFLINE_REASON[source]);
  return value as NonNullable<NodeFacts[S]>;
}

/** INFO fields that mirror a config setting: what a managed service without CONFIG still shows. */
const INFO_MIRROR: Record<string, string> = {
  maxmemory: 'maxmemory',
  'maxmemory-policy': 'maxmemory_policy',
  maxclients: 'maxclients',
};

/** Built-in defaults (Redis 7), for a redis.conf that does not mention a setting. */
const DEFAULTS: Record<string, string> = {
  maxmemory: '0',
  'maxmemory-policy': 'noeviction',
  maxclients: '10000',
  'protected-mode': 'yes',
  bind: '',
  port: '6379',
  requirepass: '',
  save: '3600 1 300 100 60 10000',
  appendonly: 'no',
  'lazyfree-lazy-eviction': 'no',
  'lazyfree-lazy-expire': 'no',
  'lazyfree-lazy-server-del': 'no',
  'lazyfree-lazy-user-del': 'no',
  'enable-debug-command': 'no',
};

/** A config setting from CONFIG GET / redis.conf, else its INFO mirror, else MissingFacts. */
export function setting(node: NodeFacts, name: string): string {
  const fromConfig = node.config?.[name];
  if (fromConfig !== undefined) return fromConfig;
  if (node.config && node.source === 'conf' && DEFAULTS[name] !== undefined) return DEFAULTS[name];
  const mirror = INFO_MIRROR[name];
  const fromInfo = mirror ? node.info?.[mirror] : undefined;
  if (fromInfo !== undefined) return fromInfo;
  if (node.config) throw new MissingFacts(`'${name}' is not in the configuration`);
  throw new MissingFacts(node.unavailable.config ?? OFFLINE_REASON.config);
}

/** A numeric INFO field; MissingFacts when INFO is missing, undefined when the field is. */
export function infoNumber(node: NodeFacts, field: string): number | undefined {
  const raw = need(node, 'info')[field];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** Like infoNumber, but a missing field is MissingFacts too (older servers lack some fields). */
export function requireInfoNumber(node: NodeFacts, field: string): number {
  const n = infoNumber(node, field);
  if (n === undefined) throw new MissingFacts(`INFO has no '${field}' field on this server`);
  return n;
}

/** Memory that counts against maxmemory: used_memory minus replication and AOF buffers. */
export function memoryForEviction(node: NodeFacts): number {
  return requireInfoNumber(node, 'used_memory') - (infoNumber(node, 'mem_not_counted_for_evict') ?? 0);
}

/** Keys and keys-with-TTL over every db, from INFO keyspace. */
export function keyspaceCounts(node: NodeFacts): { keys: number; expires: number } {
  const info = need(node, 'info');
  let keys = 0;
  let expires = 0;
  for (const [field, value] of Object.entries(info)) {
    if (!/^db\d+$/.test(field)) continue;
    const parts = Object.fromEntries(value.split(',').map((kv) => kv.split('=')));
    keys += Number(parts.keys ?? 0);
    expires += Number(parts.expires ?? 0);
  }
  return { keys, expires };
}
