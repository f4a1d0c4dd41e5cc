/**
 * Turns the many ways a connection fails into one line that says what to do. The raw error
 * is kept as `cause` (for the library's callers); the message only ever names the redacted target.
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
    // ioredis 5 says 'Protocol error', ioredis 6 'Unknown RESP type' (an HTTP server answers 'H…').
    test: (e) => /Protocol error|unexpected reply|not Redis|Unknown RESP type/i.test(e.message ?? ''),
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

/**
 * Replies with which a healthy server refuses commands for a while: the states an incident
 * leaves it in (restarted after an OOM kill, blocked by a runaway script, a replica cut from
 * its primary, a full disk). Each says what the server is doing and how to get past it.
 */
const SERVER_STATES: ReadonlyArray<{ test: RegExp; message: (where: string) => string; hint: string }> = [
  {
    test: /^LOADING\b/,
    message: (w) => `${w} is still loading its dataset into memory (it has just started)`,
    hint: 'run the command again once loading is done: redis-cli INFO persistence shows loading_eta_seconds',
  },
  {
    test: /^BUSY\b/,
    message: (w) => `${w} is busy running a script or function and answers nothing else until it ends`,
    hint: 'SCRIPT KILL (or FUNCTION KILL) stops it if it has not written yet (redis-cli still answers that); otherwise wait for it',
  },
  {
    test: /^MASTERDOWN\b/,
    message: (w) => `${w} is a replica that lost its primary and does not serve stale data`,
    hint: 'read the primary instead (drop --replicas), or CONFIG SET replica-serve-stale-data yes on the replica',
  },
  {
    test: /^MISCONF\b/,
    message: (w) => `${w} refuses writes: its last RDB snapshot failed (stop-writes-on-bgsave-error)`,
    hint: 'fix what broke the save (disk space, permissions: INFO persistence and the server log), then run the command again',
  },
];

/**
 * A refusal from a server in one of the states above, naming it; anything else: undefined.
 * The server's reply may sit under errors that already named the node (the scanner's
 * ScanFailedError wraps one): the whole `cause` chain is looked at.
 */
export function serverRefusal(err: unknown, where: string): ConnectionError | undefined {
  for (let e = err as (ErrorLike & { cause?: unknown }) | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const state = SERVER_STATES.find((s) => s.test.test(e?.message ?? ''));
    if (state) return new ConnectionError(state.message(where), state.hint, { cause: err });
  }
  return undefined;
}

/** Classify a connection-time failure into a ConnectionError with a one-line message and hint. */
export function connectionFailure(err: unknown, where: string): KeywardenError {
  if (err instanceof KeywardenError) return err;
  const e = (err ?? {}) as ErrorLike;
  const known = permissionFailure(err, where) ?? serverRefusal(err, where);
  if (known) return known;
  for (const f of FAILURES) {
    if (f.test(e)) return new ConnectionError(f.message(where), f.hint, { cause: err });
  }
  return new ConnectionError(`cannot talk to ${where}: ${firstLine(e.message ?? String(err))}`, 'check the URL, -h, -p and credentials', { cause: err });
}

/** A NOPERM reply becomes a PermissionError naming the command; anything else returns undefined. */
export function permissionFailure(err: unknown, where: string): PermissionError | undefined {
  const message = (err as ErrorLike | undefined)?.message ?? '';
  if (!isPermissionDenied(err)) return undefined;
  const command = /run the '([^']+)' command/.exec(message)?.[1];
  if (!command) {
    // Inside a script the server does not say which command was refused.
    return new PermissionError(
      `the user connected to ${where} may not run a command keywarden needs`,
      'grant it the read commands listed in the README (permissions): ACL SETUSER <user> +scan +type +pttl +memory|usage +info ...',
      { cause: err },
    );
  }
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

/**
 * Any failure in the middle of a run that is the server's doing rather than ours, as one
 * line naming `where`: a lost connection, a reply timeout, or a refusal state. Undefined for
 * anything else (a bug keeps its stack).
 */
export function midRunFailure(err: unknown, where: string, replyTimeoutMs?: number): KeywardenError | undefined {
  if (err instanceof KeywardenError) return err;
  return permissionFailure(err, where) ?? lostConnection(err, where, replyTimeoutMs) ?? serverRefusal(err, where);
}

/** NOPERM, or its form inside a script ("The user executing the script can't run this command"). */
export function isPermissionDenied(err: unknown): boolean {
  return /NOPERM|user executing the script can't run/.test((err as ErrorLike | undefined)?.message ?? '');
}

function firstLine(text: string): string {
  return text.split('\n')[0].slice(0, 200);
}
