/**
 * A throwaway redis-server for `keywarden demo` (and the benchmarks): a free port on
 * 127.0.0.1, a temporary directory, nothing persisted, killed on stop or process exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeywardenError } from '../errors.js';

export interface ThrowawayRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Start `redis-server` (or $KEYWARDEN_REDIS_SERVER) with extra `--name value` config. */
export async function startThrowawayRedis(config: Record<string, string> = {}): Promise<ThrowawayRedis> {
  const binary = process.env.KEYWARDEN_REDIS_SERVER ?? 'redis-server';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'keywarden-demo-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', join(dir, 'redis.log')];
  for (const [k, v] of Object.entries(config)) args.push(`--${k}`, v);
  const child = spawn(binary, args, { stdio: 'ignore' });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(
        new KeywardenError(`cannot start ${binary}: ${err.message}`, 'install Redis (apt-get install redis-server) or set KEYWARDEN_REDIS_SERVER', {
          cause: err,
        }),
      ),
    ),
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  await Promise.race([waitForPing(port, child), spawnError]);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      process.off('exit', kill);
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new KeywardenError(`redis-server exited with code ${child.exitCode}`, 'check that redis-server runs on this machine');
    if (await pings(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new KeywardenError(`redis-server on port ${port} did not start within 10 s`, 'check that redis-server runs on this machine');
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
