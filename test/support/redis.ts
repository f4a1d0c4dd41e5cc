/**
 * Real redis-server processes for tests: standalone servers, a primary with a replica, and a
 * 3-master Redis Cluster, each on free ports with its own temporary directory. Every process
 * started here is killed when the test file's process exits (or by `stop()`).
 *
 * A test that needs Redis calls one of these; when `redis-server` is missing they throw a
 * RedisMissingError, so the test fails with a message instead of skipping.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const REDIS_SERVER = process.env.KEYWARDEN_REDIS_SERVER ?? 'redis-server';
export const REDIS_CLI = process.env.KEYWARDEN_REDIS_CLI ?? 'redis-cli';

export class RedisMissingError extends Error {}

let checked = false;
function requireRedisServer(): void {
  if (checked) return;
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new RedisMissingError(
      `redis-server is not installed (tried "${REDIS_SERVER}"): install it (apt-get install redis-server) ` +
        'or set KEYWARDEN_REDIS_SERVER. Tests that need Redis fail rather than skip.',
    );
  }
  checked = true;
}

/** A free TCP port on 127.0.0.1 (and port+10000 free too, for cluster bus ports). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
      });
    });
    if (port > 0 && port < 55000 && (await isFree(port + 10000))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const running = new Set<ChildProcess>();
function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.on('exit', killAll);
// A test file stopped by a signal (runner timeout, Ctrl-C) skips 'exit' handlers: without
// these, its redis-servers would outlive it.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 1));
  });
}

export interface RedisServer {
  host: string;
  port: number;
  /** `redis://127.0.0.1:PORT` (no credentials). */
  url: string;
  dir: string;
  process: ChildProcess;
  /** A new ioredis client to this server (caller quits it). */
  client(options?: { username?: string; password?: string; db?: number }): Redis;
  /** Kill the server and remove its directory. */
  stop(): Promise<void>;
  /** Kill -9 without cleanup, then start again on the same port and dir (data is lost unless persisted). */
  restart(): Promise<void>;
}

export interface StartOptions {
  /** Extra redis.conf directives as `--name value` arguments, e.g. `{ maxmemory: '10mb' }`. */
  config?: Record<string, string | number>;
  /** Raw extra arguments. */
  args?: string[];
  port?: number;
}

/** Start a standalone redis-server on a free port and wait until it answers PING. */
export async function startRedis(options: StartOptions = {}): Promise<RedisServer> {
  requireRedisServer();
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'keywarden-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
    '--enable-debug-command',
    'local',
    // Replicas sync at once instead of waiting 5 s for more replicas to join.
    '--repl-diskless-sync-delay',
    '0',
  ];
  for (const [name, value] of Object.entries(options.config ?? {})) args.push(`--${name}`, String(value));
  args.push(...(options.args ?? []));

  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    running.add(child);
    child.once('exit', () => running.delete(child));
    await waitForPing(port, child, dir);
    return child;
  };

  const server: RedisServer = {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    process: await launch(),
    client: (o = {}) =>
      new Redis({ host: '127.0.0.1', port, username: o.username, password: o.password, db: o.db ?? 0, lazyConnect: false, maxRetriesPerRequest: 1 }),
    async stop() {
      await kill(server.process);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill(server.process, 'SIGKILL');
      server.process = await launch();
    },
  };
  return server;
}

async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

async function waitForPing(port: number, child: ChildProcess, dir: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server on port ${port} exited with code ${child.exitCode}; see ${dir}/redis.log`);
    }
    // A server with requirepass answers NOAUTH: it is up all the same.
    const reply = spawnSync(REDIS_CLI, ['-p', String(port), 'PING'], { encoding: 'utf8' }).stdout ?? '';
    const ok = /PONG|NOAUTH/.test(reply);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s; see ${dir}/redis.log`);
}

/** A primary and one replica that has finished its initial sync. */
export async function startPrimaryWithReplica(options: StartOptions = {}): Promise<{ primary: RedisServer; replica: RedisServer; stop(): Promise<void> }> {
  const primary = await startRedis(options);
  const replica = await startRedis({ ...options, config: { ...options.config, replicaof: `127.0.0.1 ${primary.port}` } });
  const probe = replica.client();
  try {
    const deadline = Date.now() + 10_000;
    while (!/master_link_status:up/.test(await probe.info('replication'))) {
      if (Date.now() > deadline) throw new Error('replica did not finish its initial sync within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    probe.disconnect();
  }
  return {
    primary,
    replica,
    async stop() {
      await Promise.all([replica.stop(), primary.stop()]);
    },
  };
}

export interface RedisCluster {
  masters: RedisServer[];
  replicas: RedisServer[];
  /** Seed URL of the first master. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster: 3 masters (slots split by `redis-cli --cluster create`), optionally
 * one replica per master. Resolves once every node reports `cluster_state:ok`.
 */
export async function startCluster(options: { replicas?: boolean } = {}): Promise<RedisCluster> {
  const count = options.replicas ? 6 : 3;
  const nodes: RedisServer[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await startRedis({ config: { 'cluster-enabled': 'yes', 'cluster-node-timeout': 2000, 'cluster-config-file': 'nodes.conf' } }));
  }
  const create = spawnSync(
    REDIS_CLI,
    ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', options.replicas ? '1' : '0', '--cluster-yes'],
    { encoding: 'utf8' },
  );
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  await waitForClusterOk(nodes);
  const masters: RedisServer[] = [];
  const replicas: RedisServer[] = [];
  for (const node of nodes) {
    const c = node.client();
    const role = await c.role();
    c.disconnect();
    (role[0] === 'master' ? masters : replicas).push(node);
  }
  return {
    masters,
    replicas,
    url: masters[0].url,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

async function waitForClusterOk(nodes: RedisServer[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const node of nodes) {
    const c = node.client();
    try {
      for (;;) {
        const info = (await c.call('CLUSTER', 'INFO')) as string;
        if (info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} not ok within 20 s:\n${info}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      c.disconnect();
    }
  }
}
