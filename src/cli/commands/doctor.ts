/**
 * `keywarden doctor [url]`: parse flags, call `diagnose`, hand the report to a renderer, and
 * turn the worst finding into the exit code (1 at --fail-on or above, 2 on usage or connection
 * errors). Target flags are declared here until the shared `src/cli/flags.ts` exists.
 */
import { Command, Option } from 'commander';
import { diagnose, reachesSeverity, SEVERITIES, type DiagnoseOptions, type Severity } from '../../doctor/index.js';
import { loadPolicy, type Policy } from '../../policy/index.js';
import { connectTarget, type Target } from '../../target/connect.js';
import { addTargetFlags, durationFlag, sampleFlag, targetFrom, type TargetFlags } from '../flags.js';
import { processIo, type CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';
import { renderDoctorMarkdown } from '../render/doctor-markdown.js';
import { renderDoctorText } from '../render/doctor-text.js';
import { cliInvocation } from '../invocation.js';

interface DoctorFlags extends TargetFlags {
  config?: string;
  policy?: string;
  sample: string | false;
  sampleTime?: string;
  budget?: string;
  growthWindow?: string;
  failOn: Severity | 'none';
  json?: boolean;
  format: 'text' | 'markdown' | 'json';
}

/** Register `keywarden doctor` on the program. `io` lets tests capture output. */
export function registerDoctor(program: Command, io: CliIo = processIo): void {
  const cmd = program
    .command('doctor')
    .summary('diagnose the configuration behind Redis memory incidents, with the fix')
    .description(
      'Read INFO, CONFIG, ACL, SLOWLOG, LATENCY, MEMORY STATS and the keyspace (every key when it fits --budget, else a sample) and report findings with evidence and the ' +
        'exact fix; or lint a redis.conf offline with --config. Read-only. Exit 1 when a finding reaches --fail-on.',
    );
  addTargetFlags(cmd)
    .option('--config <redis.conf>', 'lint this redis.conf offline (alone, or next to a live target)')
    .option('--policy <keywarden.yml>', 'policy file: rule TTLs and roles sharpen the checks')
    .option('--budget <duration>', 'read every key when that is estimated to take at most this long (measured on this server); else a sample', '5s')
    .option('--sample <keys|percent>', 'sample size above the budget: a key count (10000) or a share (1%)', '10000')
    .option('--no-sample', 'do not read the keyspace at all (checks that need it are listed as skipped)')
    .option('--sample-time <duration>', 'time limit of the sample', '5s')
    .option('--growth-window <duration>', 'measure memory growth over at least this long, for the time-to-full estimate', '1s')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').choices([...SEVERITIES, 'none']).default('critical'))
    .option('--json', 'print the report as one JSON document (same as --format json)')
    .addOption(
      new Option('--format <format>', 'output format (table is the same as text, as in scan)').choices(['text', 'table', 'markdown', 'json']).default('text'),
    )
    .action(async (url: string | undefined, flags: DoctorFlags, command: Command) => {
      finishWith(command, await runDoctor(url, flags, io));
    });
}

/** Run the command; returns the exit code. */
export async function runDoctor(url: string | undefined, flags: DoctorFlags, io: CliIo = processIo): Promise<number> {
  const format = flags.json ? 'json' : flags.format;
  return runCommand(io, format === 'json', async () => {
    let target: Target | undefined;
    try {
      const options = await diagnoseOptions(flags);
      // With only --config, the file is linted offline and no server is contacted.
      const offlineOnly = flags.config !== undefined && url === undefined && flags.url === undefined && flags.host === undefined && flags.port === undefined;
      if (!offlineOnly) target = await connectTarget(targetFrom(url, flags, io.env));
      // The database may come from -n or from the URL's path: the resolved target knows both.
      const report = await diagnose(target, { ...options, db: target?.spec.db, cli: cliInvocation(io.env) });
      if (format === 'json') io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      else if (format === 'markdown') io.stdout(renderDoctorMarkdown(report));
      else io.stdout(renderDoctorText(report));
      return flags.failOn !== 'none' && reachesSeverity(report, flags.failOn) ? 1 : 0;
    } finally {
      await target?.close();
    }
  });
}

async function diagnoseOptions(flags: DoctorFlags): Promise<DiagnoseOptions> {
  const policy: Policy | undefined = flags.policy ? await loadPolicy(flags.policy) : undefined;
  return {
    policy,
    config: flags.config,
    sample: flags.sample === false ? false : sampleFlag(flags.sample),
    sampleDeadlineMs: flags.sampleTime ? durationFlag(flags.sampleTime, '--sample-time', { example: '5s' }) : undefined,
    budgetMs: flags.budget !== undefined ? durationFlag(flags.budget, '--budget', { example: '5s' }) : undefined,
    growthWindowMs: flags.growthWindow ? durationFlag(flags.growthWindow, '--growth-window', { example: '1h' }) : undefined,
  };
}
