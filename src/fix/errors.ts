/**
 * Errors specific to fix and undo; each is one line and a hint (exit code 2 in the CLI).
 */
import { ConnectionError, KeywardenError, PermissionError } from '../errors.js';
import { connectionFailure, midRunFailure, permissionFailure, serverRefusal } from '../target/errors.js';

/** The run stopped because a node went away (restart, failover, network). */
export class FixInterruptedError extends KeywardenError {}

/** The server cannot do what fix needs (EXPIRE … NX needs Redis 7.0). */
export class UnsupportedServerError extends KeywardenError {}

/** What stopped a fix or undo run, and whether waiting for the server is the advice. */
export interface RunFailure {
  error: KeywardenError;
  /** The server went away or refused for a while: rerun once it answers. Otherwise the hint says what to change first. */
  transient: boolean;
}

/** Replies fix and undo meet that no "wait for the server" advice fits. */
const REFUSALS: ReadonlyArray<{ test: RegExp; message: (where: string, err: Error) => string; hint: string }> = [
  {
    test: /^READONLY\b/,
    message: (w) => `${w} is a read-only replica: TTLs can only be written on the primary`,
    hint: 'point the command at the primary (redis-cli -h <replica> INFO replication shows master_host and master_port)',
  },
  {
    test: /DB index is out of range/i,
    message: (w) => `${w} has no such database (ERR DB index is out of range)`,
    hint: 'check -n or the URL path: CONFIG GET databases shows how many the server has',
  },
  {
    test: /^OOM\b/,
    message: (w) => `${w} refused a command over maxmemory (OOM)`,
    hint: 'free memory or raise maxmemory (CONFIG SET maxmemory), then rerun',
  },
];

/** Classify what stopped a run on `where` into one line and the advice that fits it. */
export function runFailure(err: unknown, where: string, replyTimeoutMs?: number): RunFailure {
  if (err instanceof KeywardenError && !(err instanceof ConnectionError)) return { error: err, transient: false };
  for (let e = err as (Error & { cause?: unknown }) | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    // A refusal under an error that named the node (the scanner's): the refusal decides the advice.
    if (e instanceof PermissionError) return { error: e, transient: false };
    const denied = permissionFailure(e, where);
    if (denied) return { error: denied, transient: false };
    const refusal = REFUSALS.find((r) => r.test.test(e?.message ?? ''));
    if (refusal) return { error: new ConnectionError(refusal.message(where, e), refusal.hint, { cause: err }), transient: false };
  }
  const error = err instanceof ConnectionError ? err : (midRunFailure(err, where, replyTimeoutMs) ?? connectionFailure(err, where));
  if (error instanceof PermissionError) return { error, transient: false };
  return { error, transient: serverRefusal(err, where) === undefined };
}
