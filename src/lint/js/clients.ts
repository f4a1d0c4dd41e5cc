/**
 * Which JavaScript values are Redis (or Redis-backed cache) clients: how each library's client
 * is created, typed and commonly named. A call is only checked when its receiver resolves to
 * one of these, so `Map.set`, `Headers.set`, `URLSearchParams.set` and DOM APIs are never
 * reported.
 */

export type ClientKind = 'redis' | 'cache';

export interface Receiver {
  /** The library the call is attributed to. */
  client: string;
  kind: ClientKind;
  /** A cache created with a default TTL: its `set(k, v)` expires. */
  defaultTtl?: boolean;
  /** The pipeline or MULTI the receiver queues into. */
  batch?: number;
}

/** Module specifier → the client library it provides. */
export const CLIENT_MODULES: Readonly<Record<string, string>> = {
  ioredis: 'ioredis',
  iovalkey: 'iovalkey',
  redis: 'node-redis',
  '@redis/client': 'node-redis',
  keyv: 'keyv',
  '@keyv/redis': 'keyv',
  'cache-manager': 'cache-manager',
};

/** `new X(…)` that makes a client. */
export const CONSTRUCTORS: Readonly<Record<string, { client: string; kind: ClientKind }>> = {
  Redis: { client: 'ioredis', kind: 'redis' },
  IORedis: { client: 'ioredis', kind: 'redis' },
  Cluster: { client: 'ioredis', kind: 'redis' },
  Valkey: { client: 'iovalkey', kind: 'redis' },
  Keyv: { client: 'keyv', kind: 'cache' },
};

/** `f(…)` (or `mod.f(…)`) that makes a client. */
export const FACTORIES: Readonly<Record<string, { client: string; kind: ClientKind }>> = {
  createClient: { client: 'node-redis', kind: 'redis' },
  createCluster: { client: 'node-redis', kind: 'redis' },
  createSentinel: { client: 'node-redis', kind: 'redis' },
  createCache: { client: 'cache-manager', kind: 'cache' },
  caching: { client: 'cache-manager', kind: 'cache' },
};

/** TypeScript type names that declare a client (parameters, fields, constructor properties). */
export const CLIENT_TYPES: Readonly<Record<string, { client: string; kind: ClientKind }>> = {
  Redis: { client: 'ioredis', kind: 'redis' },
  IORedis: { client: 'ioredis', kind: 'redis' },
  Cluster: { client: 'ioredis', kind: 'redis' },
  Pipeline: { client: 'ioredis', kind: 'redis' },
  ChainableCommander: { client: 'ioredis', kind: 'redis' },
  RedisClientType: { client: 'node-redis', kind: 'redis' },
  RedisClusterType: { client: 'node-redis', kind: 'redis' },
  Keyv: { client: 'keyv', kind: 'cache' },
};

/** Methods that return a pipeline or transaction of the same client. */
export const BATCH_METHODS = new Set(['pipeline', 'multi', 'batch', 'multiExecutor']);

/** Methods that return another client of the same library. */
export const SAME_CLIENT_METHODS = new Set(['duplicate', 'connect', 'withTypeMapping', 'withCommandOptions']);

/** Methods that send a raw command: `call('SET', …)`, `sendCommand(['SET', …])`. */
export const RAW_METHODS = new Set(['call', 'callBuffer', 'sendCommand', 'send_command']);

/**
 * A client known only by its name: a variable or property named like one (`redis`,
 * `redisClient`, `this.valkey`). `client` alone counts only in files that import a Redis
 * library, where it nearly always is one.
 */
export function clientByName(name: string, fileClient: string | undefined): Receiver | undefined {
  const lower = name.toLowerCase();
  if ((lower.includes('redis') || lower.includes('valkey')) && !/(?:keys?|url|uri|config|options|opts|host|port|prefix)$/.test(lower)) {
    return { client: fileClient ?? (lower.includes('valkey') ? 'iovalkey' : 'redis'), kind: 'redis' };
  }
  if (
    fileClient !== undefined &&
    fileClient !== 'keyv' &&
    fileClient !== 'cache-manager' &&
    (lower === 'client' || lower === 'conn' || lower === 'connection')
  ) {
    return { client: fileClient, kind: 'redis' };
  }
  return undefined;
}
