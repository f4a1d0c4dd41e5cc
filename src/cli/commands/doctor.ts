/**
 * `keywarden doctor [url]`: parse flags, call `diagnose`, hand the report to a renderer, and
 * turn the worst finding into the exit code (1 at --fail-on or above, 2 on usage or connection
 * errors). Target flags are declared here until the shared `src/cli/flags.ts` exists.
 */
import { Command, Option } from 'commander';
import { diagnose, reachesSeverity, SEVERITIES, type DiagnoseOptions, type Severity } from '../../doctor/index.js';
import { isUserFacing, UsageError } from '../../errors.js';
import { loadPolicy, parseDuration, parseFraction, type Policy } from '../../policy/index.js';
import { connectTarget, type Target } from '../../target/connect.js';
import { resolveTarget, type TargetOptions } from '../../target/spec.js';
import { renderDoctorMarkdown } from '../render/doctor-markdown.js';
import { renderDoctorText } from '../render/doctor-text.js';

export interface DoctorIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

const processIo: DoctorIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

interface DoctorFlags extends Omit<TargetOptions, 'connectTimeoutMs'> {
  pass?: string;
  timeout?: string;
  config?: string;
  policy?: string;
  sample: string | false;
  sampleTime?: string;
  growthWindow?: string;
  failOn: Severity | 'none';
  json?: boolean;
  format: 'text' | 'markdown' | 'json';
}

/** Register `keywarden doctor` on the program. `io` lets tests capture output. */
export function registerDoctor(program: Command, io: DoctorIo = processIo): void {
  program
    .command('doctor')
    .summary('diagnose the configuration behind Redis memory incidents, with the fix')
    .description(
      'Read INFO, CONFIG, ACL, SLOWLOG, LATENCY, MEMORY STATS (and a small keyspace sample) and report findings with evidence and the ' +
        'exact fix; or lint a redis.conf offline with --config. Read-only. Exit 1 when a finding reaches --fail-on.',
    )
    .helpOption('--help', 'show help for doctor')
    .argument('[url]', 'redis:// or rediss:// URL (default: REDIS_URL, then redis://127.0.0.1:6379)')
    .option('--url <url>', 'target URL (same as the positional argument)')
    .option('-h, --host <host>', 'server host (overrides the URL)')
    .option('-p, --port <port>', 'server port')
    .option('-a, --pass <password>', 'password (prefer REDISCLI_AUTH: it stays out of the process list)')
    .option('--user <name>', 'ACL user name')
    .option('-n, --db <db>', 'only this database in the keyspace sample')
    .option('--tls', 'connect with TLS')
    .option('--cacert <file>', 'CA certificate for TLS')
    .option('--cert <file>', 'client certificate for TLS')
    .option('--key <file>', 'client key for TLS')
    .option('--insecure', 'do not verify the TLS certificate')
    .option('--replicas', 'read the replicas instead of the primaries')
    .option('--timeout <duration>', 'connection timeout', '5s')
    .option('--config <redis.conf>', 'lint this redis.conf offline (alone, or next to a live target)')
    .option('--policy <keywarden.yml>', 'policy file: rule TTLs and roles sharpen the checks')
    .option('--sample <keys|percent>', 'keyspace sample size: a key count (10000) or a share (1%)', '10000')
    .option('--no-sample', 'do not sample the keyspace (checks that need it are listed as skipped)')
    .option('--sample-time <duration>', 'time budget of the keyspace sample', '5s')
    .option('--growth-window <duration>', 'measure memory growth over at least this long, for the time-to-full estimate', '1s')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').choices([...SEVERITIES, 'none']).default('critical'))
    .option('--json', 'print the report as one JSON document (same as --format json)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .action(async (url: string | undefined, flags: DoctorFlags) => {
      process.exitCode = await runDoctor(url, flags, io);
    });
}

/** Run the command; returns the exit code. */
export async function runDoctor(url: string | undefined, flags: DoctorFlags, io: DoctorIo = processIo): Promise<number> {
  const format = flags.json ? 'json' : flags.format;
  let target: Target | undefined;
  try {
    const options = await diagnoseOptions(flags);
    // With only --config, the file is linted offline and no server is contacted.
    const offlineOnly = flags.config !== undefined && url === undefined && flags.url === undefined && flags.host === undefined && flags.port === undefined;
    if (!offlineOnly) target = await connectTarget(resolveTarget(targetOptions(url, flags), io.env));
    const report = await diagnose(target, options);
    if (format === 'json') io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    else if (format === 'markdown') io.stdout(renderDoctorMarkdown(report));
    else io.stdout(renderDoctorText(report));
    return flags.failOn !== 'none' && reachesSeverity(report, flags.failOn) ? 1 : 0;
  } catch (err) {
    const message = isUserFacing(err) ? err.message : `unexpected error: ${String((err as Error)?.message ?? err).split('\n')[0]}`;
    const hint = isUserFacing(err) ? err.hint : 'run again; if it persists, report it with the command line (without credentials)';
    if (format === 'json') io.stdout(`${JSON.stringify({ kind: 'keywarden.error', message, hint }, null, 2)}\n`);
    else io.stderr(`keywarden doctor: ${message}\n  hint: ${hint}\n`);
    return 2;
  } finally {
    await target?.close();
  }
}

function targetOptions(url: string | undefined, flags: DoctorFlags): TargetOptions {
  return {
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
    connectTimeoutMs: flags.timeout ? durationFlag(flags.timeout, '--timeout') : undefined,
  };
}

async function diagnoseOptions(flags: DoctorFlags): Promise<DiagnoseOptions> {
  const policy: Policy | undefined = flags.policy ? await loadPolicy(flags.policy) : undefined;
  return {
    policy,
    config: flags.config,
    sample: flags.sample === false ? false : sampleFlag(flags.sample),
    sampleDeadlineMs: flags.sampleTime ? durationFlag(flags.sampleTime, '--sample-time') : undefined,
    growthWindowMs: flags.growthWindow ? durationFlag(flags.growthWindow, '--growth-window') : undefined,
    db: flags.db === undefined ? undefined : Number(flags.db),
  };
}

/** `10000` → { keys: 10000 }; `1%` or `0.01` → { fraction: 0.01 }. */
export function sampleFlag(text: string): { keys: number } | { fraction: number } {
  if (/^\d+$/.test(text.trim()) && Number(text) >= 1) return { keys: Number(text) };
  let fraction: number;
  try {
    fraction = parseFraction(text);
  } catch {
    fraction = NaN;
  }
  if (!(fraction > 0 && fraction <= 1)) throw new UsageError(`--sample '${text}' is neither a key count nor a share`, 'write e.g. --sample 10000 or --sample 1%');
  return { fraction };
}

function durationFlag(text: string, flag: string): number {
  try {
    return parseDuration(text);
  } catch (cause) {
    throw new UsageError(`${flag} '${text}' is not a duration`, `write e.g. ${flag} 5s`, { cause });
  }
}
