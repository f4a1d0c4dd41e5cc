/**
 * `keywarden watch [url]`: the daemon. Parses flags, starts `startWatch`, and runs until
 * SIGTERM or SIGINT, on which it stops scanning, saves the checkpoint (the next start
 * continues the pass where it stopped) and exits 0. Logs go to stderr (`--log-format json`
 * for log shippers); stdout stays empty.
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { loadPolicy } from '../../policy/index.js';
import type { TargetSpec } from '../../target/spec.js';
import { createLogger, startWatch, type LogLevel, type WatchOptions } from '../../watch/index.js';
import { checkAuthToken } from '../../watch/http.js';
import { addTargetFlags, durationFlag, intFlag, targetFrom, type TargetFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';
import { stopOnSignals } from '../signals.js';

interface WatchFlags extends TargetFlags {
  listen: string;
  policy?: string;
  interval: string;
  infoInterval: string;
  checkpointInterval: string;
  state?: string | false;
  top: string;
  maxOps?: string;
  fast?: boolean;
  alertWebhook?: string;
  alertFormat: 'json' | 'slack';
  evictionWindow: string;
  forecastWindow: string;
  doctorInterval: string;
  doctor: boolean;
  authToken?: string;
  protectMetrics?: boolean;
  enforce?: boolean;
  journalDir?: string;
  logFormat: 'text' | 'json';
  logLevel: LogLevel;
}

/** Register `keywarden watch`. */
export function registerWatch(program: Command, io: CliIo): void {
  const cmd = program
    .command('watch')
    .summary('daemon: background scan, Prometheus /metrics, alerts on keys without TTL, dashboard')
    .description(
      'Scan the keyspace continuously in the background (paced, checkpointed per node), serve per-pattern and server metrics at ' +
        '/metrics, fire the policy alerts to a webhook, and show a read-only dashboard at /. Scrapes never scan. SIGTERM saves the checkpoint.',
    );
  addTargetFlags(cmd)
    .option('--listen <host:port>', 'address of the HTTP server', '127.0.0.1:9121')
    .option('--policy <file>', 'keywarden.yml: rule globs name the patterns; alerts: sets the thresholds')
    .option('--interval <duration>', 'time between the starts of two passes over the keyspace', '5m')
    .option('--info-interval <duration>', 'how often server metrics are read and alerts evaluated', '10s')
    .option('--checkpoint-interval <duration>', 'how often the pass in progress is saved to the state file', '30s')
    .option('--state <file>', 'state file for checkpoints (default: ~/.local/state/keywarden/watch-<target>.json)')
    .option('--no-state', 'keep state in memory only (a restart begins a new pass)')
    .option('--top <n>', 'patterns exported per node; the rest fold into (other)', '20')
    .option('--max-ops <n>', 'hard cap: keys inspected per second, per node')
    .option('--fast', 'lift the latency guard (maintenance windows only)')
    .option('--alert-webhook <url>', 'POST alerts (firing, repeat, resolved) to this URL')
    .addOption(new Option('--alert-format <format>', 'webhook payload').choices(['json', 'slack']).default('json'))
    .option('--eviction-window <duration>', 'evictions within this window fire KeywardenEvictions', '5m')
    .option('--forecast-window <duration>', 'used-memory history the time-to-full forecast is fitted over', '1h')
    .option('--doctor-interval <duration>', 'how often doctor runs for critical findings', '5m')
    .option('--no-doctor', 'do not run doctor')
    .option('--auth-token <token>', 'bearer token for every route but /metrics (prefer KEYWARDEN_AUTH_TOKEN); required off loopback')
    .option('--protect-metrics', 'require the token on /metrics too')
    .option('--enforce', "give violating keys their policy TTL as the scan finds them (EXPIRE NX, journaled, like 'fix --apply')")
    .option('--journal-dir <dir>', 'where --enforce writes its journals for keywarden undo (default: next to the state file)')
    .addOption(new Option('--log-format <format>', 'log lines on stderr').choices(['text', 'json']).default('text'))
    .addOption(new Option('--log-level <level>', 'least severe log level shown').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (url: string | undefined, flags: WatchFlags, command: Command) => {
      finishWith(command, await runCommand(io, false, () => runWatch(url, flags, io)));
    });
}

/** Run the daemon until a signal; returns the exit code. */
export async function runWatch(url: string | undefined, flags: WatchFlags, io: CliIo, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<number> {
  const options = await watchOptions(url, flags, io);
  const handle = await startWatch(options);
  // The first signal stops the daemon (the checkpoint is saved); a later one quits at once.
  let stop!: () => void;
  const stopping = new Promise<void>((resolve) => (stop = resolve));
  const signalled = stopOnSignals(signals, (signal) => {
    options.logger?.info('signal received', { signal });
    stop();
  });
  try {
    await stopping;
    await handle.stop();
  } finally {
    signalled.dispose();
  }
  return 0;
}

async function watchOptions(url: string | undefined, flags: WatchFlags, io: CliIo): Promise<WatchOptions> {
  const target = targetFrom(url, flags, io.env);
  const policy = flags.policy ? await loadPolicy(flags.policy) : undefined;
  const authToken = flags.authToken ?? io.env.KEYWARDEN_AUTH_TOKEN;
  if (flags.enforce && !policy) throw new UsageError('--enforce needs the TTLs of a policy', 'add --policy keywarden.yml');
  if (flags.protectMetrics && !authToken) throw new UsageError('--protect-metrics needs a token', 'add --auth-token (or KEYWARDEN_AUTH_TOKEN)');
  const listen = parseListen(flags.listen);
  checkAuthToken(listen.host, authToken);
  const top = intFlag(flags.top, '--top') ?? 20;
  if (top < 1) throw new UsageError('--top must be at least 1', 'for example --top 20');
  return {
    target,
    policy,
    listen,
    intervalMs: durationFlag(flags.interval, '--interval', { positive: true }),
    infoIntervalMs: durationFlag(flags.infoInterval, '--info-interval', { positive: true }),
    checkpointIntervalMs: durationFlag(flags.checkpointInterval, '--checkpoint-interval', { positive: true }),
    statePath: flags.state === false ? false : (flags.state ?? defaultStatePath(target, io.env)),
    top,
    maxOps: intFlag(flags.maxOps, '--max-ops'),
    fast: flags.fast,
    alertWebhook: flags.alertWebhook ? webhookUrl(flags.alertWebhook) : undefined,
    alertFormat: flags.alertFormat,
    evictionWindowMs: durationFlag(flags.evictionWindow, '--eviction-window', { positive: true }),
    forecastWindowMs: durationFlag(flags.forecastWindow, '--forecast-window', { positive: true }),
    doctorIntervalMs: flags.doctor ? durationFlag(flags.doctorInterval, '--doctor-interval', { positive: true }) : false,
    authToken,
    protectMetrics: flags.protectMetrics,
    enforce: flags.enforce,
    journalDir: flags.journalDir,
    logger: createLogger((line) => io.stderr(line), flags.logFormat, flags.logLevel),
  };
}

/** `host:port`, `:port`, `[::1]:port` or a bare port. */
export function parseListen(value: string): { host: string; port: number } {
  const text = value.trim();
  const m = /^\d+$/.test(text) ? [text, undefined, '', text] : /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--listen: '${value}' is not host:port`, 'write e.g. --listen 127.0.0.1:9121');
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function webhookUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return value;
  } catch {
    // fall through
  }
  throw new UsageError('--alert-webhook is not an http(s) URL', 'write e.g. --alert-webhook https://hooks.example.com/keywarden');
}

/** One state file per target, under XDG_STATE_HOME; named by a hash of the redacted URL. */
function defaultStatePath(target: TargetSpec, env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  const id = createHash('sha256').update(target.display).digest('hex').slice(0, 12);
  return join(base, 'keywarden', `watch-${id}.json`);
}
