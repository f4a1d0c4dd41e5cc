/**
 * Resolves a TargetSpec to the nodes every command reads: the server itself when standalone,
 * every master of a Redis Cluster (found through CLUSTER NODES), or their replicas with
 * `--replicas`. Each node gets its own direct connection, so a scan of one node never waits
 * on another and no command is ever redirected.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ConnectionError, UsageError } from '../errors.js';
import { connectionFailure, isPermissionDenied } from './errors.js';
import { parseInfo } from './info.js';
import type { TargetSpec } from './spec.js';

export interface RedisNode {
  /** `host:port`, used as the node label everywhere. */
  address: string;
  role: 'master' | 'replica';
  client: Redis;
}

export interface Target {
  spec: TargetSpec;
  mode: 'standalone' | 'cluster';
  /** From INFO server; 'unknown' when this user may not run INFO. */
  redisVersion: string;
  nodes: RedisNode[];
  close(): Promise<void>;
}

/** Connect to the target and every node it resolves to. Throws a ConnectionError with one clear line. */
export async function connectTarget(spec: TargetSpec): Promise<Target> {
  const seed = await openNode(spec, spec.host, spec.port, spec.display);
  const opened: Redis[] = [seed];
  try {
    const info = await readInfo(seed);
    const redisVersion = info.redis_version ?? 'unknown';
    await checkDatabase(spec, seed, info.cluster_enabled === '1');
    if (info.cluster_enabled === '1') {
      const nodes = await clusterNodes(spec, seed, opened);
      return target(spec, 'cluster', redisVersion, nodes, opened);
    }
    const nodes = spec.replicas
      ? await standaloneReplicas(spec, seed, info, opened)
      : [{ address: `${spec.host}:${spec.port}`, role: roleOf(info), client: seed }];
    return target(spec, 'standalone', redisVersion, nodes, opened);
  } catch (err) {
    for (const c of opened) c.disconnect();
    throw connectionFailure(err, spec.display);
  }
}

/** `host:port` (IPv6 hosts keep their colons) into its parts. */
export function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}

/**
 * Another connection to one node of the target, of its own: a latency probe, or fix's writer
 * (the target's connection moves between databases with SELECT while keys wait for it).
 */
export function openNodeConnection(target: Target, node: RedisNode): Promise<Redis> {
  return openNode(target.spec, ...splitAddress(node.address), node.address);
}

/**
 * A database the server does not have is the user's mistake, said before any work starts:
 * otherwise scan fails with a raw 'ERR DB index is out of range' and doctor reads db 0.
 */
async function checkDatabase(spec: TargetSpec, seed: Redis, cluster: boolean): Promise<void> {
  if (spec.db === undefined || spec.db === 0) return;
  if (cluster)
    throw new UsageError(
      `database ${spec.db} does not exist on ${spec.display}: Redis Cluster has only database 0`,
      'drop -n (or the /db part of the URL), or use -n 0',
    );
  try {
    await seed.select(spec.db);
    await seed.select(0);
  } catch (err) {
    if (!/DB index is out of range|invalid DB index/i.test((err as Error).message)) throw err;
    throw new UsageError(
      `database ${spec.db} does not exist on ${spec.display}`,
      'pick a database the server has: CONFIG GET databases gives their number, INFO keyspace those with keys',
      { cause: err },
    );
  }
}

function target(spec: TargetSpec, mode: Target['mode'], redisVersion: string, nodes: RedisNode[], opened: Redis[]): Target {
  return {
    spec,
    mode,
    redisVersion,
    nodes,
    async close() {
      // QUIT is polite, but a server that stopped answering would hold it for the whole reply timeout.
      await Promise.all(opened.map((c) => withTimeout(c.quit(), Math.min(spec.replyTimeoutMs, 1000), spec.display).catch(() => c.disconnect())));
    },
  };
}

function roleOf(info: Record<string, string>): RedisNode['role'] {
  return info.role === 'slave' ? 'replica' : 'master';
}

/** One direct connection; resolves after the server answered PING, so "not Redis" fails here. */
export async function openNode(spec: TargetSpec, host: string, port: number, where: string): Promise<Redis> {
  const options: RedisOptions = {
    host,
    port,
    username: spec.username,
    password: spec.password,
    tls: spec.tls ? { ...spec.tls } : undefined,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 0,
    // Fail fast: a tool run during an incident must say what is wrong, not retry silently.
    retryStrategy: () => null,
    connectTimeout: spec.connectTimeoutMs,
    // A stopped or cut-off server never closes the socket: without this, a run would wait on it forever.
    commandTimeout: spec.replyTimeoutMs,
    // ...nor answers a FIN: stop waiting for it soon after disconnecting, so the process can exit.
    disconnectTimeout: 500,
  };
  const client = new Redis(options);
  // ioredis rejects connect() with a generic "Connection is closed."; the real reason
  // (ECONNREFUSED, WRONGPASS, a TLS alert...) arrives as an 'error' event just before.
  let lastError: unknown;
  client.on('error', (err) => {
    lastError ??= err;
  });
  try {
    await withTimeout(client.connect(), spec.connectTimeoutMs, where);
    const pong = await withTimeout(client.ping(), spec.connectTimeoutMs, where);
    if (pong !== 'PONG') throw new Error(`Protocol error: not Redis (PING answered ${JSON.stringify(pong)})`);
    // Operators see who is scanning in CLIENT LIST; a user who may not set names loses nothing.
    await client.call('CLIENT', 'SETNAME', 'keywarden').catch(() => undefined);
    return client;
  } catch (err) {
    client.disconnect();
    const reason = lastError ?? err;
    // A plain-text Redis reads a TLS ClientHello as the start of an inline command and waits
    // for the rest: from the client's side that is a silent timeout, not a TLS alert.
    if (spec.tls && (reason as { code?: string }).code === 'ETIMEDOUT') {
      throw new ConnectionError(
        `TLS handshake with ${where} did not complete: the server probably does not speak TLS on that port`,
        'use redis:// for a plain-text port, or check the port of the TLS listener',
        { cause: reason },
      );
    }
    throw connectionFailure(reason, where);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, where: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${where} timed out`), { code: 'ETIMEDOUT' })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readInfo(client: Redis): Promise<Record<string, string>> {
  try {
    return parseInfo(await client.info());
  } catch (err) {
    // A restricted ACL user may not run INFO: treat the node as a standalone primary.
    if (isPermissionDenied(err)) return {};
    throw err;
  }
}

interface ClusterNodeLine {
  id: string;
  host: string;
  port: number;
  flags: string[];
  masterId: string;
  hasSlots: boolean;
}

/** Parse CLUSTER NODES into the fields node selection needs. */
export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const f = line.trim().split(' ');
      const [host, port] = splitAddress(f[1].split('@')[0]);
      return {
        id: f[0],
        host,
        port,
        flags: f[2].split(','),
        masterId: f[3],
        hasSlots: f.length > 8,
      };
    });
}

async function clusterNodes(spec: TargetSpec, seed: Redis, opened: Redis[]): Promise<RedisNode[]> {
  const lines = parseClusterNodes((await seed.call('CLUSTER', 'NODES')) as string).filter(
    (n) => !n.flags.includes('fail') && !n.flags.includes('noaddr') && !n.flags.includes('handshake'),
  );
  const masters = lines.filter((n) => n.flags.includes('master') && n.hasSlots);
  const chosen = spec.replicas
    ? masters.map((m) => {
        const replica = lines.find((n) => n.flags.includes('slave') && n.masterId === m.id);
        if (!replica) throw new ConnectionError(`master ${m.host}:${m.port} has no healthy replica to read`, 'drop --replicas to read the masters');
        return replica;
      })
    : masters;
  return Promise.all(
    chosen.map(async (n) => {
      const host = n.host || spec.host;
      const client = await openNode(spec, host, n.port, `${host}:${n.port}`);
      opened.push(client);
      // Replicas only serve reads of their slots to clients that asked for it.
      if (spec.replicas) await client.call('READONLY');
      return { address: `${host}:${n.port}`, role: spec.replicas ? 'replica' : 'master', client } satisfies RedisNode;
    }),
  );
}

async function standaloneReplicas(spec: TargetSpec, seed: Redis, info: Record<string, string>, opened: Redis[]): Promise<RedisNode[]> {
  if (info.role === 'slave') return [{ address: `${spec.host}:${spec.port}`, role: 'replica', client: seed }];
  const replica = Object.entries(info)
    .filter(([k]) => /^slave\d+$/.test(k))
    .map(([, v]) => Object.fromEntries(v.split(',').map((kv) => kv.split('=') as [string, string])))
    .find((r) => r.state === 'online');
  if (!replica) throw new ConnectionError(`${spec.display} has no online replica to read`, 'drop --replicas to read the primary');
  const client = await openNode(spec, replica.ip, Number(replica.port), `${replica.ip}:${replica.port}`);
  opened.push(client);
  return [{ address: `${replica.ip}:${replica.port}`, role: 'replica', client }];
}
