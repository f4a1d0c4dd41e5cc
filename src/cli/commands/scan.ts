/**
 * `keywarden scan [url]`: the keyspace audit. Parses flags, runs `scanKeyspace`, hands the
 * report to a renderer. Ctrl-C stops the scan and prints the partial report, marked
 * incomplete; a second Ctrl-C exits at once.
 */
import { Command, Option } from 'commander';
import type { ScanReport } from '../../keyspace/report.js';
import { scanKeyspace } from '../../keyspace/scan.js';
import { ScanFailedError, type ScanProgress } from '../../keyspace/scanner.js';
import { progressBar } from '../progress.js';
import { formatCount } from '../../units.js';
import { checkScanOutput, emitScanReport, redisTypeFlag, type ScanFormat } from '../render/scan-output.js';
import { loadPolicy } from '../../policy/index.js';
import { connectTarget } from '../../target/connect.js';
import { addTargetFlags, intFlag, sampleFlag, targetFrom, type TargetFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';
import { interruptOnSigint } from '../signals.js';

/** The types SCAN TYPE knows (module types aside). */

interface ScanFlags extends TargetFlags {
  match?: string;
  type?: string;
  sample?: string;
  fast?: boolean;
  maxOps?: string;
  top: string;
  policy?: string;
  maxPatterns?: string;
  json?: boolean;
  format: 'table' | 'text' | 'json' | 'markdown' | 'html';
  out?: string;
  progress: boolean;
}

/** Register `keywarden scan`. */
export function registerScan(program: Command, io: CliIo): void {
  const cmd = program
    .command('scan')
    .summary('audit the keyspace per key pattern: memory, keys without TTL, TTL spread')
    .description(
      'Walk the keyspace with SCAN (never KEYS) in small, paced steps and report, per inferred key pattern, keys, bytes, keys and ' +
        'bytes without TTL, types and TTL spread; the biggest keys; keys expiring in the same second. Read-only.',
    );
  addTargetFlags(cmd)
    .option('--match <glob>', 'only keys matching this glob (SCAN MATCH)')
    .option('--type <type>', 'only keys of this type (string, list, set, zset, hash, stream)')
    .option('--sample <n|p%>', 'read a spread-out sample: a key count (100000) or a share (1%); figures become estimates with 95% intervals')
    .option('--fast', 'lift the latency guard (maintenance windows): bigger steps, no pauses')
    .option('--max-ops <n>', 'hard cap: keys inspected per second, per node')
    .option('--top <n>', 'biggest keys to list', '10')
    .option('--max-patterns <n>', 'patterns to report before folding the rest into (other)', '200')
    .option('--policy <file>', 'keywarden.yml: rule globs win over inference; exit 1 when keys break their rule')
    .option('--json', 'print the report as one JSON document on stdout')
    .addOption(
      new Option('--format <format>', 'output format (text is the same as table, as in doctor)')
        .choices(['table', 'text', 'json', 'markdown', 'html'])
        .default('table'),
    )
    .option('--out <file>', 'write the report to this file (required for --format html)')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .action(async (url: string | undefined, flags: ScanFlags, command: Command) => {
      finishWith(command, await runCommand(io, flags.json === true || flags.format === 'json', () => runScan(url, flags, io)));
    });
}

async function runScan(url: string | undefined, flags: ScanFlags, io: CliIo): Promise<number> {
  const format: ScanFormat = flags.json ? 'json' : flags.format === 'text' ? 'table' : flags.format;
  checkScanOutput(format, flags.out);
  const spec = targetFrom(url, flags, io.env);
  const policy = flags.policy ? await loadPolicy(flags.policy) : undefined;
  const type = redisTypeFlag(flags.type);
  const options = {
    db: spec.db,
    match: flags.match,
    type,
    sample: flags.sample === undefined ? undefined : sampleFlag(flags.sample),
    fast: flags.fast,
    maxOps: intFlag(flags.maxOps, '--max-ops'),
    top: intFlag(flags.top, '--top'),
    maxPatterns: intFlag(flags.maxPatterns, '--max-patterns'),
    policy,
  };

  const target = await connectTarget(spec);
  const interrupt = interruptOnSigint(io, 'stopping; printing the partial report');
  const progress =
    flags.progress && io.isTTY
      ? progressBar('scanning [{bar}] {percentage}% | {keys} of ~{expected} keys | {rate} keys/s | ETA {eta_formatted}', (p: ScanProgress) => ({
          keys: formatCount(p.keysSeen),
          expected: formatCount(p.expected),
          rate: formatCount(p.keysPerSecond),
        }))
      : undefined;
  let report: ScanReport;
  try {
    report = await scanKeyspace(target, { ...options, signal: interrupt.signal, onProgress: progress?.update });
  } catch (err) {
    // A node failed mid-scan: show what was read (marked incomplete) before the error line.
    // With --json the error document carries it as `partial` instead.
    progress?.stop();
    if (err instanceof ScanFailedError && err.partial && format !== 'json') emit(err.partial, 'partial report');
    throw err;
  } finally {
    progress?.stop();
    interrupt.dispose();
    await target.close();
  }
  emit(report, 'report');
  if (report.coverage.interrupted === 'interrupted') return 130;
  return report.policy && report.policy.violations > 0 ? 1 : 0;

  function emit(r: ScanReport, what: string): void {
    emitScanReport(io, r, format, flags.out, what, spec.command);
  }
}
