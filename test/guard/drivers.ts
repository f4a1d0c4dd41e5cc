/**
 * One driver per client library × topology, so the same guard suite runs against every adapter:
 * ioredis Redis, ioredis Cluster, node-redis createClient, node-redis createCluster. A driver
 * sends raw commands, pipelines and MULTIs through a (guarded or raw) client and normalises
 * replies to `[errorMessage | null, value]`.
 */
import * as ioredis6 from 'ioredis';
import type { Cluster, Redis } from 'ioredis';
import * as ioredis5 from 'ioredis5';
import * as iovalkey from 'iovalkey';
import * as redis6 from 'redis';
import * as redis5 from 'redis5';
import * as redis4 from 'redis4';
import { guard, type GuardOptions } from '../../src/guard/index.js';
import type { RedisCluster, RedisServer } from '../support/redis.js';

export type Reply = [string | null, unknown];

/** One installed ioredis-family library (the app's own classes: the guard must work with each). */
export interface IoredisLibrary {
  label: string;
  Redis: new (...args: unknown[]) => Redis;
  Cluster: new (...args: unknown[]) => Cluster;
}

/** One installed node-redis major. */
export interface NodeRedisLibrary {
  label: string;
  major: 4 | 5 | 6;
  createClient(options: object): unknown;
  createCluster(options: object): unknown;
}

const io = (label: string, lib: { Redis: unknown; Cluster: unknown }): IoredisLibrary => ({
  label,
  Redis: lib.Redis as IoredisLibrary['Redis'],
  Cluster: lib.Cluster as IoredisLibrary['Cluster'],
});

/** Every supported ioredis-family major, installed under aliases (package.json devDependencies). */
export const IOREDIS_LIBRARIES: IoredisLibrary[] = [io('ioredis 6', ioredis6), io('ioredis 5', ioredis5), io('iovalkey', iovalkey)];

/** Every supported node-redis major. */
export const NODE_REDIS_LIBRARIES: NodeRedisLibrary[] = [
  { label: 'redis 6', major: 6, createClient: redis6.createClient, createCluster: redis6.createCluster },
  { label: 'redis 5', major: 5, createClient: redis5.createClient, createCluster: redis5.createCluster },
  { label: 'redis 4', major: 4, createClient: redis4.createClient, createCluster: redis4.createCluster },
];

export interface DriverClient {
  /** One command as raw arguments (`['HSET', key, field, value]`). */
  call(args: string[]): Promise<unknown>;
  /** A non-transactional pipeline. */
  pipeline(commands: string[][]): Promise<Reply[]>;
  /** A MULTI … EXEC transaction. */
  multi(commands: string[][]): Promise<Reply[]>;
  /** The library client itself, for library-specific calls. */
  readonly native: unknown;
}

export interface Driver {
  label: string;
  library: 'ioredis' | 'node-redis';
  cluster: boolean;
  /** An unguarded client, for set-up and inspection. */
  raw: DriverClient;
  guarded(options: GuardOptions): DriverClient;
  /** Total calls of a command across every master (INFO commandstats). */
  commandCalls(name: string): Promise<number>;
  close(): Promise<void>;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function ioredisClient(client: Redis | Cluster): DriverClient {
  const run = async (batch: ReturnType<Redis['pipeline']>): Promise<Reply[]> =>
    ((await batch.exec()) ?? []).map(([err, value]) => [err ? err.message : null, value]);
  return {
    native: client,
    call: (args) => client.call(args[0], ...args.slice(1)),
    pipeline: (commands) => run(client.pipeline(commands.map((c) => ['call', ...c]))),
    multi: async (commands) => {
      try {
        return await run(client.multi(commands.map((c) => ['call', ...c])));
      } catch (err) {
        return [[message(err), null]];
      }
    },
  };
}

type NodeMulti = { addCommand(...a: unknown[]): NodeMulti; exec(): Promise<unknown[]>; execAsPipeline(): Promise<unknown[]> };
type NodeAny = {
  sendCommand(...a: unknown[]): Promise<unknown>;
  multi(): NodeMulti;
  connect(): Promise<unknown>;
  close?(): Promise<void>;
  quit(): Promise<unknown>;
};

/** v4 has no close(). */
const closeNode = async (c: NodeAny): Promise<void> => {
  await (c.close ? c.close() : c.quit());
};

/** The key that routes a raw command on a node-redis cluster: the first hash-tagged argument. */
const slotKey = (args: string[]): string => args.find((a) => a.includes('{')) ?? args[1];

function nodeRedisClient(client: NodeAny, cluster: boolean, major: number): DriverClient {
  const queue = (commands: string[][]): NodeMulti => {
    const m = client.multi();
    for (const c of commands) {
      // A cluster Multi's addCommand: (firstKey, isReadonly, args) from v5 on, (firstKey, args) in v4.
      if (cluster && major >= 5) m.addCommand(slotKey(c), false, c);
      else if (cluster) m.addCommand(slotKey(c), c);
      else m.addCommand(c);
    }
    return m;
  };
  const normalise = (replies: unknown[]): Reply[] => replies.map((r) => (r instanceof Error ? [r.message, null] : [null, r]));
  const settle = async (p: Promise<unknown[]>): Promise<Reply[]> => {
    try {
      return normalise(await p);
    } catch (err) {
      const replies = (err as { replies?: unknown[] }).replies;
      return replies ? normalise(replies) : [[message(err), null]];
    }
  };
  return {
    native: client,
    call: (args) => (cluster ? client.sendCommand(slotKey(args), false, args) : client.sendCommand(args)),
    pipeline: (commands) => settle(queue(commands).execAsPipeline()),
    multi: (commands) => settle(queue(commands).exec()),
  };
}

async function commandCallsOn(servers: RedisServer[], name: string): Promise<number> {
  let total = 0;
  for (const server of servers) {
    const c = server.client();
    try {
      const info = await c.info('commandstats');
      const m = new RegExp(`^cmdstat_${name.toLowerCase()}:calls=(\\d+)`, 'm').exec(info);
      total += m ? Number(m[1]) : 0;
    } finally {
      c.disconnect();
    }
  }
  return total;
}

export async function ioredisStandalone(server: RedisServer, lib: IoredisLibrary = IOREDIS_LIBRARIES[0]): Promise<Driver> {
  const clients: Redis[] = [];
  const make = () => {
    const c = new lib.Redis(server.url, { maxRetriesPerRequest: 1 });
    clients.push(c);
    return c;
  };
  return {
    label: `${lib.label} standalone`,
    library: 'ioredis',
    cluster: false,
    raw: ioredisClient(make()),
    guarded: (options) => ioredisClient(guard(make(), options)),
    commandCalls: (name) => commandCallsOn([server], name),
    close: async () => {
      for (const c of clients) c.disconnect();
    },
  };
}

export async function ioredisCluster(cluster: RedisCluster, lib: IoredisLibrary = IOREDIS_LIBRARIES[0]): Promise<Driver> {
  const clients: Cluster[] = [];
  const make = () => {
    const c = new lib.Cluster(cluster.masters.map((m) => ({ host: m.host, port: m.port })));
    clients.push(c);
    return c;
  };
  return {
    label: `${lib.label} cluster`,
    library: 'ioredis',
    cluster: true,
    raw: ioredisClient(make()),
    guarded: (options) => ioredisClient(guard(make(), options)),
    commandCalls: (name) => commandCallsOn(cluster.masters, name),
    close: async () => {
      for (const c of clients) c.disconnect();
    },
  };
}

export async function nodeRedisStandalone(server: RedisServer, lib: NodeRedisLibrary = NODE_REDIS_LIBRARIES[0]): Promise<Driver> {
  const clients: NodeAny[] = [];
  const make = async () => {
    const c = lib.createClient({ url: server.url }) as unknown as NodeAny;
    await c.connect();
    clients.push(c);
    return c;
  };
  const pool: NodeAny[] = [];
  for (let i = 0; i < 4; i++) pool.push(await make());
  let next = 1;
  return {
    label: `${lib.label} standalone`,
    library: 'node-redis',
    cluster: false,
    raw: nodeRedisClient(pool[0], false, lib.major),
    // Connections are made up front (guard is synchronous); guarded views share them.
    guarded: (options) => nodeRedisClient(guard(pool[1 + (next++ % 3)], options), false, lib.major),
    commandCalls: (name) => commandCallsOn([server], name),
    close: async () => {
      await Promise.all(clients.map(closeNode));
    },
  };
}

export async function nodeRedisCluster(cluster: RedisCluster, lib: NodeRedisLibrary = NODE_REDIS_LIBRARIES[0]): Promise<Driver> {
  const make = async () => {
    const c = lib.createCluster({ rootNodes: cluster.masters.map((m) => ({ url: m.url })) }) as unknown as NodeAny;
    await c.connect();
    return c;
  };
  const raw = await make();
  const shared = await make();
  return {
    label: `${lib.label} cluster`,
    library: 'node-redis',
    cluster: true,
    raw: nodeRedisClient(raw, true, lib.major),
    guarded: (options) => nodeRedisClient(guard(shared, options), true, lib.major),
    commandCalls: (name) => commandCallsOn(cluster.masters, name),
    close: async () => {
      await Promise.all([closeNode(raw), closeNode(shared)]);
    },
  };
}
