/**
 * The HTTP side: `/metrics` (Prometheus), `/alerts` (JSON), `/api/state` (the dashboard's
 * data), the dashboard at `/` with its assets (all served from this process: no CDN), and
 * `/healthz` / `/readyz`. Read-only: every route is GET/HEAD.
 *
 * With `authToken`, every route but /metrics, /healthz and /readyz (and /metrics too with
 * `protectMetrics`) needs `Authorization: Bearer <token>`; a browser opens `/?token=<token>`
 * once and gets an HttpOnly, SameSite=Strict cookie instead, so the token leaves the URL.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Registry } from 'prom-client';
import { unitsSource } from '../units.js';
import { UsageError } from '../errors.js';
import { alertJson } from './alerts/webhook.js';
import { dashboardData } from './dashboard-data.js';
import type { WatchLogger } from './log.js';
import type { WatchView } from './view.js';

export interface HttpOptions {
  host: string;
  port: number;
  authToken?: string;
  protectMetrics?: boolean;
  view: WatchView;
  registry: Registry;
  log: WatchLogger;
}

export interface HttpHandle {
  /** `http://host:port` actually bound (port 0 resolved). */
  url: string;
  close(): Promise<void>;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const COOKIE = 'keywarden_token';

interface Asset {
  type: string;
  body: Buffer;
}

/** Static files, read once at start: the dashboard and Chart.js's UMD build from node_modules. */
function loadAssets(): Map<string, Asset> {
  const own = (name: string) => readFileSync(new URL(`../assets/watch/${name}`, import.meta.url));
  const chartDir = dirname(createRequire(import.meta.url).resolve('chart.js'));
  return new Map<string, Asset>([
    ['/', { type: 'text/html; charset=utf-8', body: own('index.html') }],
    // The formatters of every other output (src/units.ts), so the dashboard and the CLI show a size, a count or a time the same way.
    [
      '/assets/dashboard.js',
      { type: 'text/javascript; charset=utf-8', body: Buffer.concat([Buffer.from(`'use strict';\n${unitsSource()}\n`), own('dashboard.js')]) },
    ],
    ['/assets/dashboard.css', { type: 'text/css; charset=utf-8', body: own('dashboard.css') }],
    ['/assets/chart.umd.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(chartDir, 'chart.umd.js')) }],
  ]);
}

/**
 * Why the target is not being read right now, or undefined when it is. /healthz says the
 * process is alive; /readyz says its figures can be trusted: connected, every node answering
 * (a stopped server keeps its socket open but answers nothing), and the last pass not failed.
 */
export function notReady(view: WatchView): string | undefined {
  const live = view.live;
  if (!live.connected) return `not connected: ${live.lastError ?? 'connecting'}`;
  const down = live.knownNodes.filter((n) => live.nodeUp.get(n) !== true);
  if (down.length > 0) return `${down.join(', ')} not answering${live.lastError ? `: ${live.lastError}` : ''}`;
  if (live.passFailure) return `the last ${live.passFailure.count === 1 ? 'pass' : `${live.passFailure.count} passes`} failed: ${live.passFailure.error}`;
  return undefined;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The shortest --auth-token accepted off loopback: 16 characters of a random hex token are 64 bits. */
export const MIN_TOKEN_LENGTH = 16;

/** A token anyone can guess protects nothing once the port is reachable from the network. */
export function checkAuthToken(host: string, token: string | undefined): void {
  if (isLoopback(host) || token === undefined) return;
  if (token.trim().length < MIN_TOKEN_LENGTH) {
    throw new UsageError(
      `--auth-token is too weak to expose the dashboard on ${host}: it must have at least ${MIN_TOKEN_LENGTH} characters`,
      'generate one with: openssl rand -hex 24 (or listen on 127.0.0.1)',
    );
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export async function startHttp(options: HttpOptions): Promise<HttpHandle> {
  if (!isLoopback(options.host) && !options.authToken) {
    throw new UsageError(
      `--listen ${options.host} exposes the dashboard beyond this machine without a token`,
      'add --auth-token (or KEYWARDEN_AUTH_TOKEN), or listen on 127.0.0.1',
    );
  }
  checkAuthToken(options.host, options.authToken);
  const assets = loadAssets();
  const wanted = options.authToken ? digest(options.authToken) : undefined;
  const tokenOk = (given: string | undefined) => wanted !== undefined && given !== undefined && timingSafeEqual(digest(given), wanted);

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      options.log.error('HTTP handler failed', { path: req.url?.split('?')[0], error: (err as Error).message });
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'read-only: GET only\n');
    }
    const open = path === '/healthz' || path === '/readyz' || (path === '/metrics' && !options.protectMetrics);
    if (wanted && !open) {
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const cookie = cookieValue(req.headers.cookie, COOKIE);
      const query = path === '/' ? (url.searchParams.get('token') ?? undefined) : undefined;
      if (query !== undefined && tokenOk(query)) {
        res.setHeader('Set-Cookie', `${COOKIE}=${encodeURIComponent(query)}; HttpOnly; SameSite=Strict; Path=/`);
        res.setHeader('Location', '/');
        return send(res, 303, 'text/plain; charset=utf-8', 'see /\n');
      }
      if (!tokenOk(bearer) && !tokenOk(cookie)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="keywarden"');
        return send(res, 401, 'text/plain; charset=utf-8', 'unauthorized: send Authorization: Bearer <token> (or open /?token=<token> in a browser)\n');
      }
    }
    if (path === '/metrics') {
      const body = await options.registry.metrics();
      return send(res, 200, options.registry.contentType, body, req.method === 'HEAD');
    }
    if (path === '/alerts') {
      const body = {
        kind: 'keywarden.alerts',
        schemaVersion: 1,
        target: options.view.target,
        firing: options.view.alerts().map(alertJson),
        resolved: options.view.resolvedAlerts().map(alertJson),
      };
      return sendJson(res, body, req.method === 'HEAD');
    }
    if (path === '/api/state') return sendJson(res, dashboardData(options.view), req.method === 'HEAD');
    if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n', req.method === 'HEAD');
    if (path === '/readyz') {
      const why = notReady(options.view);
      return send(res, why ? 503 : 200, 'text/plain; charset=utf-8', why ? `not ready: ${why}\n` : 'ready\n', req.method === 'HEAD');
    }
    const asset = assets.get(path);
    if (asset) {
      if (path === '/') res.setHeader('Content-Security-Policy', CSP);
      if (path !== '/') res.setHeader('Cache-Control', 'public, max-age=300');
      return send(res, 200, asset.type, asset.body, req.method === 'HEAD');
    }
    return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.code === 'EADDRNOTAVAIL' ? 'no such local address' : err.message;
      reject(new UsageError(`cannot listen on ${options.host}:${options.port}: ${why}`, 'choose another --listen host:port', { cause: err }));
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `http://${host}:${port}`, close: () => closeServer(server) };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headOnly = false): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(headOnly ? undefined : body);
}

function sendJson(res: ServerResponse, value: unknown, headOnly: boolean): void {
  send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, headOnly);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
