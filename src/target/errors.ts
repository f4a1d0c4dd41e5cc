/**
 * Turns the many ways a connection fails into one line that says what to do. The raw error
 * is kept as `cause` for --debug; the message only ever names the redacted target.
 */
import { ConnectionError, KeywardenError, PermissionError } from '../errors.js';
import { formatDuration } from '../policy/duration.js';

interface ErrorLike {
  code?: string;
  message?: string;
}

/** One row per failure family: how to recognise it, what to say, which flag to change. */
const FAILURES: ReadonlyArray<{
  test: (e: ErrorLike) => boolean;
  message: (where: string) => string;
  hint: string;
}> = [
  {
    test: (e) => e.code === 'ECONNREFUSED',
    message: (w) => `connection refused by ${w}`,
    hint: 'is redis-server running there? check the URL, -h and -p',
  },
  {
    test: (e) => e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN',
    message: (w) => `unknown host in ${w}`,
    hint: 'check the host name in the URL or -h',
  },
  {
    test: (e) => /WRONGPASS|invalid password|invalid username-password/i.test(e.message ?? ''),
    message: (w) => `authentication failed for ${w}: wrong user name or password`,
    hint: 'check -a/--user, the URL credentials or REDISCLI_AUTH',
  },
  {
    test: (e) => /NOAUTH/i.test(e.message ?? ''),
    message: (w) => `${w} requires a password`,
    hint: 'give one with -a, REDISCLI_AUTH or redis://user:password@host:port',
  },
  {
    test: (e) => /wrong version number|SSL|TLS|EPROTO|ERR_SSL/i.test(`${e.code ?? ''} ${e.message ?? ''}`),
    message: (w) => `TLS handshake with ${w} failed: the server does not speak TLS on that port, or its certificate is not trusted`,
    hint: 'use redis:// for a plain-text port, or --cacert/--insecure for a private CA',
  },
  {
    test: (e) => /Protocol error|unexpected reply|not Redis/i.test(e.message ?? ''),
    message: (w) => `${w} answered, but not like a Redis server`,
    hint: 'check the port: something other than Redis is listening there',
  },
  {
    test: (e) => /Connection is closed|ECONNRESET|socket hang up|closed/i.test(`${e.code ?? ''} ${e.message ?? ''}`),
    message: (w) => `${w} closed the connection before answering`,
    hint: 'if the server requires TLS, use rediss://; otherwise check that it is a Redis server and that it accepts this client',
  },
  {
    test: (e) => /timed? ?out|ETIMEDOUT/i.test(`${e.code ?? ''} ${e.message ?? ''}`),
    message: (w) => `${w} did not answer in time`,
    hint: 'check the host and port (a firewall may drop packets), that the server speaks plain Redis (use rediss:// for TLS), or raise --timeout',
  },
];

/** Classify a connection-time failure into a ConnectionError with a one-line message and hint. */
export function connectionFailure(err: unknown, where: string): KeywardenError {
  if (err instanceof KeywardenError) return err;
  const e = (err ?? {}) as ErrorLike;
  const perm = permissionFailure(err, where);
  if (perm) return perm;
  for (const f of FAILURES) {
    if (f.test(e)) return new ConnectionError(f.message(where), f.hint, { cause: err });
  }
  return new ConnectionError(`cannot talk to ${where}: ${firstLine(e.message ?? String(err))}`, 'check the URL, -h, -p and credentials', { cause: err });
}

/** A NOPERM reply becomes a PermissionError naming the command; anything else returns undefined. */
export function permissionFailure(err: unknown, where: string): PermissionError | undefined {
  const message = (err as ErrorLike | undefined)?.message ?? '';
  if (!/NOPERM/.test(message)) return undefined;
  const command = /run the '([^']+)' command/.exec(message)?.[1] ?? 'a required command';
  return new PermissionError(
    `the user connected to ${where} may not run ${command.toUpperCase()}`,
    `grant it (ACL SETUSER <user> +${command.toLowerCase()}) or connect as a user that has it`,
    { cause: err },
  );
}

/**
 * A connection lost in the middle of a run, as one line naming the node: the server stopped
 * answering (no reply within the reply timeout: stopped, paused or cut off, which never
 * closes the socket) or closed the connection (restarted, CLIENT KILL, a proxy). Any other
 * error: undefined, so callers can chain it after `permissionFailure`.
 */
export function lostConnection(err: unknown, where: string, replyTimeoutMs?: number): ConnectionError | undefined {
  const e = (err ?? {}) as ErrorLike;
  const text = `${e.code ?? ''} ${e.message ?? ''}`;
  if (/Command timed out/i.test(text)) {
    const within = replyTimeoutMs ? ` within ${formatDuration(replyTimeoutMs)}` : '';
    return new ConnectionError(
      `${where} stopped answering: no reply${within}`,
      'the server may be stopped, swapping or cut off by the network: check it (redis-cli PING, LATENCY LATEST); if it is only busy, raise --reply-timeout',
      { cause: err },
    );
  }
  if (/Connection is closed|ECONNRESET|EPIPE|ECONNREFUSED|socket hang up/i.test(text)) {
    return new ConnectionError(
      `lost the connection to ${where} mid-run`,
      'the server restarted or closed this client (CLIENT KILL, a client timeout, a proxy); run the command again once it answers',
      { cause: err },
    );
  }
  return undefined;
}

export function isPermissionDenied(err: unknown): boolean {
  return /NOPERM/.test((err as ErrorLike | undefined)?.message ?? '');
}

function firstLine(text: string): string {
  return text.split('\n')[0].slice(0, 200);
}
