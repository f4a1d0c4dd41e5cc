/**
 * Flag parsing shared by every command, declared once: the redis-cli style target flags, and
 * the duration, count and sample flags, each refused with a UsageError naming the flag.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { displayKey } from '../display.js';
// The module, not the policy index: that would load zod (the schema) for every command.
import { parseDuration, parseFraction } from '../policy/duration.js';
import { resolveTarget, type TargetOptions, type TargetSpec } from '../target/spec.js';

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
    throw new UsageError(
      `${flag}: '${displayKey(value)}' is not ${what}`,
      `write e.g. ${flag} ${options.example ?? '30s'} (500ms, 90s, 30m, 24h, 7d or seconds)`,
    );
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

/** `--sample 10000` (a key count) or `--sample 1%` / `0.01` (a share of the keyspace). */
export function sampleFlag(text: string): { keys: number } | { fraction: number } {
  if (/^\d+$/.test(text.trim()) && Number(text) >= 1) return { keys: Number(text) };
  let fraction: number;
  try {
    fraction = parseFraction(text);
  } catch {
    fraction = NaN;
  }
  if (!(fraction > 0 && fraction <= 1))
    throw new UsageError(`--sample '${text}' is neither a key count nor a share`, 'write e.g. --sample 100000 or --sample 1%');
  return { fraction };
}
