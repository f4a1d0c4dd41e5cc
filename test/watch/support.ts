/**
 * Helpers of the watch tests: a daemon on a free port with short intervals, HTTP fetches,
 * a local webhook receiver, data seeding, and checks that the external tools (promtool,
 * prometheus, chromium) exist — a missing one fails the test with the package to install.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import { resolveTarget } from '../../src/target/spec.js';
import { createLogger, startWatch, type WatchHandle, type WatchOptions } from '../../src/watch/index.js';

export interface TestWatch extends WatchHandle {
  logs: string[];
}

/** Start a watch daemon on 127.0.0.1:<free port> with test-sized intervals. */
export async function watch(url: string, options: Partial<WatchOptions> = {}): Promise<TestWatch> {
  const logs: string[] = [];
  const handle = await startWatch({
    target: resolveTarget({ url }, {}),
    listen: { host: '127.0.0.1', port: 0 },
    intervalMs: 300,
    infoIntervalMs: 200,
    checkpointIntervalMs: 200,
    statePath: false,
    doctorIntervalMs: false,
    logger: createLogger((line) => logs.push(line), 'json', 'debug'),
    ...options,
  });
  return Object.assign(handle, { logs });
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, { headers, redirect: 'manual' });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** Poll until `check` returns a truthy value; fail with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `n` string keys `prefix:<i>` (value of `size` bytes), with a TTL in seconds when given. */
export async function seed(client: Redis, prefix: string, n: number, options: { ttl?: number; size?: number; from?: number } = {}): Promise<void> {
  const value = 'v'.repeat(options.size ?? 16);
  const from = options.from ?? 0;
  for (let start = from; start < from + n; start += 1000) {
    const p = client.pipeline();
    for (let i = start; i < Math.min(start + 1000, from + n); i++) {
      if (options.ttl) p.set(`${prefix}:${i}`, value, 'EX', options.ttl);
      else p.set(`${prefix}:${i}`, value);
    }
    await p.exec();
  }
}

/** Parse Prometheus text into `name{labels}` → value (labels in the order served). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Values of one metric as `{ labels, value }`. */
export function series(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const [key, value] of parseMetrics(text)) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?$/.exec(key);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ labels, value });
  }
  return out;
}

export interface WebhookReceiver {
  url: string;
  received: Array<{ body: unknown; headers: IncomingMessage['headers'] }>;
  close(): Promise<void>;
}

/** A local HTTP server that records every POSTed JSON body. */
export async function webhookReceiver(status = 200): Promise<WebhookReceiver> {
  const received: WebhookReceiver['received'] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      received.push({ body: JSON.parse(text) as unknown, headers: req.headers });
      res.statusCode = status;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook/secret-token-in-path`,
    received,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Fail (never skip) when an external tool is missing, naming the Debian package. */
export function requireTool(command: string, debianPackage: string, args = ['--version']): string {
  const probe = spawnSync(command, args, { encoding: 'utf8' });
  if (probe.error) {
    throw new Error(
      `${command} is not installed: install the Debian package '${debianPackage}' (apt-get install -y ${debianPackage}). Watch tests fail rather than skip.`,
    );
  }
  return command;
}

/** `promtool check metrics` on exposition text; returns its output and exit code. */
export function promtoolCheckMetrics(text: string): { status: number; output: string } {
  const tool = requireTool('promtool', 'prometheus');
  const r = spawnSync(tool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
