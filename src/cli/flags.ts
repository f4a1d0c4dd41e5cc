/**
 * Flags and plumbing shared by every command, declared once: the redis-cli style target
 * flags, and the error handling that turns a user mistake into one line and exit code 2
 * (or a `keywarden.error` JSON document with --json) instead of a stack trace.
 */
import { getPriority, setPriority } from 'node:os';
import type { Command } from 'commander';
import { ConnectionError, isUserFacing, KeywardenError, UsageError } from '../errors.js';
import { displayKey, displayPattern } from '../keyspace/display.js';
import { parseDuration, parseFraction } from '../policy/index.js';
import { midRunFailure } from '../target/errors.js';
import { resolveTarget, type TargetOptions, type TargetSpec } from '../target/spec.js';
import { redactUrlsInText } from '../target/url.js';
import { fileFailure, isFileError } from './files.js';
import { REPEATED_SIGNAL_MS, signalExitCode } from './relaunch.js';

/** Where a command writes; tests pass their own to capture output. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** True when stderr is a terminal (progress bars only then). */
  isTTY: boolean;
  /**
   * Lower this process's CPU priority for a guarded run ({@link yieldCpu}). Left out by
   * tests that run commands inside their own process.
   */
  yieldCpu?(fast: boolean | undefined): void;
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  isTTY: process.stderr.isTTY === true,
  yieldCpu: (fast) => yieldCpu(fast),
};

export interface TargetFlags {
  url?: string;
  host?: string;
  port?: string;
  pass?: string;
  user?: string;
  db?: string;
  tls?: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  replicas?: boolean;
  timeout?: string;
  replyTimeout?: string;
}

/**
 * Add the target flags like redis-cli's: `-h -p -a --user -n`, TLS files, `--replicas`.
 * `-h` means host, so commands use `--help` alone for help (`helpOption('--help')`).
 */
export function addTargetFlags(cmd: Command): Command {
  return cmd
    .helpOption('--help', 'show help for this command')
    .argument('[url]', 'redis:// or rediss:// URL (default: REDIS_URL, then redis://127.0.0.1:6379)')
    .option('--url <url>', 'target URL (same as the positional argument)')
    .option('-h, --host <host>', 'server host (overrides the URL)')
    .option('-p, --port <port>', 'server port')
    .option('-a, --pass <password>', 'password (prefer REDISCLI_AUTH: it stays out of the process list)')
    .option('--user <name>', 'ACL user name')
    .option('-n, --db <db>', 'only this database')
    .option('--tls', 'connect with TLS (implied by rediss://)')
    .option('--cacert <file>', 'CA certificate for TLS')
    .option('--cert <file>', 'client certificate for TLS')
    .option('--key <file>', 'client key for TLS')
    .option('--insecure', 'do not verify the TLS certificate')
    .option('--replicas', 'read the replicas instead of the primaries')
    .option('--timeout <duration>', 'connection timeout', '5s')
    .option('--reply-timeout <duration>', 'treat the server as gone when a command goes unanswered this long (stopped, paused or cut off)', '30s');
}

/** Resolve the target from the positional URL, the flags and the environment. */
export function targetFrom(url: string | undefined, flags: TargetFlags, env: NodeJS.ProcessEnv): TargetSpec {
  const options: TargetOptions = {
    url: url ?? flags.url,
    host: flags.host,
    port: flags.port,
    password: flags.pass,
    user: flags.user,
    db: flags.db,
    tls: flags.tls,
    cacert: flags.cacert,
    cert: flags.cert,
    key: flags.key,
    insecure: flags.insecure,
    replicas: flags.replicas,
    connectTimeoutMs: flags.timeout ? durationFlag(flags.timeout, '--timeout', { positive: true, example: '5s' }) : undefined,
    replyTimeoutMs: flags.replyTimeout ? durationFlag(flags.replyTimeout, '--reply-timeout', { positive: true, example: '2m' }) : undefined,
  };
  return resolveTarget(options, env);
}

/**
 * A duration flag (`500ms`, `90s`, `30m`, `24h`, `7d`, plain seconds) in milliseconds, or a
 * UsageError naming the flag. `positive` refuses 0, for intervals and timeouts.
 */
export function durationFlag(value: string, flag: string, options: { positive?: boolean; example?: string } = {}): number {
  let ms = Number.NaN;
  try {
    ms = parseDuration(value);
  } catch {
    // Said below, with the flag's name instead of the policy file's wording.
  }
  if (Number.isNaN(ms) || (options.positive && ms <= 0)) {
    const what = options.positive ? 'a positive duration' : 'a duration';
    throw new UsageError(`${flag}: '${displayKey(value)}' is not ${what}`, `write e.g. ${flag} ${options.example ?? '30s'} (500ms, 90s, 30m, 24h, 7d or seconds)`);
  }
  return ms;
}

/** A positive integer flag, or a UsageError naming the flag. */
export function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} expects a whole number, got '${value}'`, `for example ${flag} 10`);
  return n;
}

/**
 * Run a command body and map failures to exit codes: user-facing errors print one line
 * (`keywarden: <message>` then `hint: <hint>`) or a JSON error document, exit 2; anything
 * else is a bug and keeps its stack (with credentials scrubbed) for the report.
 */
export async function runCommand(io: CliIo, json: boolean, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (caught) {
    // The commands name the node when the server fails them mid-run; this catches the rest.
    const err = midRunFailure(caught, 'the server') ?? fileOrServerFailure(caught) ?? caught;
    if (isUserFacing(err)) {
      if (json) io.stdout(`${JSON.stringify({ kind: 'keywarden.error', message: err.message, hint: err.hint, ...(err.partial !== undefined ? { partial: err.partial } : {}) })}\n`);
      // Messages may quote the server, and the server may quote a key: escaped for the terminal.
      else io.stderr(`keywarden: ${displayPattern(err.message)}\nhint: ${displayPattern(err.hint)}\n`);
      return err.exitCode;
    }
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    io.stderr(`keywarden: unexpected error (please report it):\n${redactUrlsInText(text)}\n`);
    return 70;
  }
}

/**
 * The failures a user or a server causes that no command caught by name: a file the
 * command could not write (one line naming it), and an error reply from the server (one
 * line quoting it, escaped: it may quote a key). Anything else is a bug: undefined.
 */
function fileOrServerFailure(err: unknown): KeywardenError | undefined {
  if (isFileError(err)) return fileFailure(err, /read|scandir|stat/.test(err.syscall ?? '') ? 'read' : 'use', err.path ?? 'a file', 'check the path, its permissions and the free space of its disk');
  const e = err as { name?: string; message?: string } | undefined;
  if ((e?.name === 'ReplyError' || e?.name === 'ErrorReply' || e?.name === 'SimpleError') && typeof e.message === 'string') {
    const first = e.message.split('\n')[0].slice(0, 300);
    return new ConnectionError(`the server refused a command: ${displayKey(first)}`, 'if the server is healthy and this user has the rights keywarden needs (README: permissions), please report it', { cause: err });
  }
  return undefined;
}

/** `--sample 10000` (a key count) or `--sample 1%` / `0.01` (a share of the keyspace). */
export function sampleFlag(text: string): { keys: number } | { fraction: number } {
  if (/^\d+$/.test(text.trim()) && Number(text) >= 1) return { keys: Number(text) };
  let fraction: number;
  try {
    fraction = parseFraction(text);
  } catch {
    fraction = NaN;
  }
  if (!(fraction > 0 && fraction <= 1)) throw new UsageError(`--sample '${text}' is neither a key count nor a share`, 'write e.g. --sample 100000 or --sample 1%');
  return { fraction };
}

/**
 * Signals that stop a long-running command. The first calls `onFirst` (the command stops
 * gracefully and prints or saves what it has); a later one quits at once with 128+n, as the
 * signal's default action would. A copy of the first within REPEATED_SIGNAL_MS (a terminal's
 * Ctrl-C passed on by the launcher, a process group signalled: relaunch.ts) is not a later
 * one. Call `dispose` when done.
 */
export function stopOnSignals(signals: readonly NodeJS.Signals[], onFirst: (signal: NodeJS.Signals) => void): { dispose(): void } {
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (firstAt === undefined) {
      firstAt = now;
      onFirst(signal);
    } else if (now - firstAt >= REPEATED_SIGNAL_MS) {
      process.exit(signalExitCode(signal));
    }
  };
  for (const s of signals) process.on(s, onSignal);
  return { dispose: () => signals.forEach((s) => process.off(s, onSignal)) };
}

/**
 * Ctrl-C for long-running commands: the first stops the work gracefully (the command then
 * prints what it has), a second quits at once with 130.
 */
export function interruptOnSigint(io: CliIo, message: string): { signal: AbortSignal; dispose(): void } {
  const stop = new AbortController();
  const { dispose } = stopOnSignals(['SIGINT'], () => {
    io.stderr(`\nkeywarden: ${message} (Ctrl-C again to quit at once)\n`);
    stop.abort();
  });
  return { signal: stop.signal, dispose };
}

/** The niceness a guarded run works at (0 is normal, 19 the lowest priority). */
export const BACKGROUND_NICE = 10;

/**
 * Without --fast, the CLI works at a lower CPU priority (nice 10; a niceness the user already
 * raised further is kept). An SRE often runs keywarden on the Redis host itself or on an
 * application server: there it gives way to redis-server and the application whenever they
 * compete for a core, instead of adding its own scheduling delay to their requests (two
 * CPU-bound processes on a 2-core host take a third process's p99 from 0.3 to ~2 ms; at nice
 * 10, 0.1 ms). A scan alone is not busy enough for this to show in bench:scan's p99
 * (bench/README.md); it is for the hosts where it is. --fast keeps the priority keywarden
 * was started with. Linux applies it to the main thread, where all of the scanning work
 * runs; V8's own background threads keep their priority, which is why a guarded scan runs
 * without them (relaunch.ts).
 */
export function yieldCpu(fast: boolean | undefined): void {
  if (fast) return;
  try {
    if (getPriority() < BACKGROUND_NICE) setPriority(BACKGROUND_NICE);
  } catch {
    // Not permitted here (some sandboxes): run at the current priority.
  }
}
