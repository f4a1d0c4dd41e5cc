/**
 * `keywarden report merge A.json B.json …`: scan/rdb JSON reports (one per shard, per dump,
 * per batch job) added up into one, rendered like any scan report.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { mergeReports } from '../../keyspace/merge.js';
import type { ScanReport } from '../../keyspace/report.js';
import { intFlag } from '../flags.js';
import type { CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';
import { checkScanOutput, emitScanReport, type ScanFormat } from '../render/scan-output.js';

interface MergeFlags {
  top?: string;
  json?: boolean;
  format: ScanFormat;
  out?: string;
}

/** Read one report file, refusing anything that is not a keywarden scan report. */
export function readScanReport(path: string): ScanReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const what = (err as NodeJS.ErrnoException).code ? `cannot read ${path} (${(err as NodeJS.ErrnoException).code})` : `${path} is not JSON`;
    throw new UsageError(what, 'give files written by keywarden scan --json or keywarden rdb --json', { cause: err });
  }
  const r = parsed as Partial<ScanReport> | null;
  if (!r || r.kind !== 'keywarden.scan' || r.schemaVersion !== 1 || !Array.isArray(r.patterns) || !r.totals || !r.coverage || !r.target) {
    throw new UsageError(
      `${path} is not a keywarden scan report (kind "keywarden.scan", schemaVersion 1)`,
      'give files written by keywarden scan --json or keywarden rdb --json',
    );
  }
  return r as ScanReport;
}

/** Register `keywarden report` and its subcommand `merge`. */
export function registerReport(program: Command, io: CliIo): void {
  const report = program.command('report').summary('work with saved reports: merge');
  report
    .command('merge')
    .summary('add up scan/rdb JSON reports (one per shard or dump) into one')
    .argument('<reports...>', 'JSON reports written by keywarden scan --json or keywarden rdb --json')
    .option('--top <n>', 'biggest keys to list (default: as many as the inputs list)')
    .option('--json', 'print the merged report as one JSON document on stdout')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'markdown', 'html']).default('table'))
    .option('--out <file>', 'write the merged report to this file (required for --format html)')
    .action(async (files: string[], flags: MergeFlags, command: Command) => {
      const format: ScanFormat = flags.json ? 'json' : flags.format;
      const code = await runCommand(io, format === 'json', async () => {
        checkScanOutput(format, flags.out);
        const merged = mergeReports(files.map(readScanReport), { top: intFlag(flags.top, '--top') });
        emitScanReport(io, merged, format, flags.out, 'merged report');
        return 0;
      });
      finishWith(command, code);
    });
}
