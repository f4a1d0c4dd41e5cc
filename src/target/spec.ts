/**
 * Where to connect: one place that turns flags, REDIS_URL and defaults into a TargetSpec,
 * the way redis-cli users expect (`redis://user:pass@host:port/db`, `rediss://` for TLS,
 * `-h -p -a --user -n` overriding the URL's parts).
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { shellArg } from '../cli/invocation.js';
import { parseRedisUrl } from './url.js';

export { redactUrl } from './url.js';

export const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** Connection flags as the CLI (or a library caller) gives them. */
export interface TargetOptions {
  url?: string;
  host?: string;
  port?: number | string;
  password?: string;
  user?: string;
  db?: number | string;
  tls?: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  /** Skip TLS certificate verification (like redis-cli --insecure). */
  insecure?: boolean;
  /** Read replicas instead of primaries. */
  replicas?: boolean;
  connectTimeoutMs?: number;
  /** Give up on a server that sends no reply for this long. Default 30 s. */
  replyTimeoutMs?: number;
}

export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  servername?: string;
}

export interface TargetSpec {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** Explicit database (`-n` or the URL path); undefined means "every db that has keys". */
  db?: number;
  tls?: TlsSettings;
  replicas: boolean;
  connectTimeoutMs: number;
  /**
   * How long a command may go unanswered before the run stops with a connection error: a
   * stopped (SIGSTOP, a VM paused) or cut-off server never closes the socket, and without a
   * limit every command would wait on it forever. Generous by default, because a healthy but
   * busy server (a fork of a large dataset, another client's slow command) can pause for seconds.
   */
  replyTimeoutMs: number;
  /** The URL with credentials removed: the only form of the target ever printed. */
  display: string;
  /** The target as a printed keywarden command names it (see {@link PrintedTarget}). */
  command: PrintedTarget;
}

/**
 * The target as arguments of a printed keywarden command, so that a pasted command connects as
 * this one did: the URL without credentials, then `--user` (a URL's `user@` alone would be read
 * as a password, as redis-cli reads it) and the TLS flags a URL cannot carry. The password is
 * never printed: `needsAuth` says the command needs REDISCLI_AUTH set.
 */
export interface PrintedTarget {
  args: string;
  needsAuth: boolean;
}

/**
 * Resolve the target from explicit options, then `REDIS_URL`, then `redis://127.0.0.1:6379`.
 * Individual flags (-h, -p, -a, --user, -n, --tls) override the matching part of the URL.
 */
export function resolveTarget(options: TargetOptions = {}, env: NodeJS.ProcessEnv = process.env): TargetSpec {
  // The default is for "no target at all". An empty one is a mistake (an unset shell
  // variable, `fix ""`), and taking it for the default would send writes to another server.
  if (options.url !== undefined && options.url.trim() === '') {
    throw new UsageError('the target URL is empty', 'give a redis:// URL, or leave the argument out to use REDIS_URL (then redis://127.0.0.1:6379)');
  }
  if (options.url === undefined && env.REDIS_URL !== undefined && env.REDIS_URL.trim() === '') {
    throw new UsageError('REDIS_URL is set but empty', 'give it a redis:// URL, unset it, or name the target on the command line');
  }
  if (options.host !== undefined && options.host.trim() === '') throw new UsageError('-h/--host is empty', 'give a host name or address, e.g. -h 10.0.0.5');
  const raw = options.url ?? env.REDIS_URL ?? DEFAULT_URL;
  const url = parseRedisUrl(raw);
  const tlsWanted = options.tls === true || url.tls || Boolean(options.cacert || options.cert);
  const host = options.host ?? (url.host || '127.0.0.1');
  const port = parsePort(options.port ?? (url.port || 6379));
  const username = options.user ?? url.username;
  // REDISCLI_AUTH is where redis-cli users already keep a password out of their shell history.
  const password = options.password ?? url.password ?? env.REDISCLI_AUTH;
  const dbText = options.db ?? (url.db || undefined);
  const db = dbText === undefined || dbText === '' ? undefined : parseDb(dbText);

  return {
    host,
    port,
    username: username || undefined,
    password: password || undefined,
    db,
    tls: tlsWanted ? tlsSettings(options, host) : undefined,
    replicas: options.replicas === true,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    replyTimeoutMs: options.replyTimeoutMs ?? 30_000,
    display: displayUrl(tlsWanted, host, port, db, Boolean(username || password)),
    command: printedTarget(displayUrl(tlsWanted, host, port, db, false), username || undefined, Boolean(password), options),
  };
}

function parsePort(value: number | string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`'${value}' is not a valid port`, 'give -p a number between 1 and 65535');
  }
  return port;
}

function parseDb(value: number | string): number {
  const db = Number(value);
  if (!Number.isInteger(db) || db < 0) {
    throw new UsageError(`'${value}' is not a valid database number`, 'give -n (or the URL path) a number such as 0');
  }
  return db;
}

function tlsSettings(options: TargetOptions, host: string): TlsSettings {
  const read = (path: string | undefined, flag: string): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (cause) {
      throw new UsageError(`cannot read ${flag} file '${path}'`, `check the path given to ${flag}`, { cause });
    }
  };
  return {
    ca: read(options.cacert, '--cacert'),
    cert: read(options.cert, '--cert'),
    key: read(options.key, '--key'),
    rejectUnauthorized: options.insecure !== true,
    servername: /^[\d.]+$|:/.test(host) ? undefined : host,
  };
}

function printedTarget(url: string, username: string | undefined, needsAuth: boolean, options: TargetOptions): PrintedTarget {
  const args = [url];
  if (username !== undefined) args.push('--user', shellArg(username));
  for (const [flag, path] of [
    ['--cacert', options.cacert],
    ['--cert', options.cert],
    ['--key', options.key],
  ] as const) {
    if (path) args.push(flag, shellArg(path));
  }
  if (options.insecure === true) args.push('--insecure');
  return { args: args.join(' '), needsAuth };
}

function displayUrl(tls: boolean, host: string, port: number, db: number | undefined, hadCredentials: boolean): string {
  const h = host.includes(':') ? `[${host}]` : host;
  const creds = hadCredentials ? '<credentials redacted>@' : '';
  return `${tls ? 'rediss' : 'redis'}://${creds}${h}:${port}${db === undefined ? '' : `/${db}`}`;
}
