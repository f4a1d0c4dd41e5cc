/**
 * The scan report in the format asked for, written to stdout or to `--out`: one path for every
 * command that produces a scan report (scan, rdb, report merge), so each gets the same checks
 * before any work (`--format html` needs `--out`, the `--out` path is writable) and the same
 * safe write (a temporary file renamed into place: a failure never leaves an empty file).
 */
import { UsageError } from '../../errors.js';
import { displayKey } from '../../display.js';
import type { ScanReport } from '../../keyspace/report.js';
import type { PrintedTarget } from '../../target/spec.js';
import { checkOutputPath, writeOutputFile } from '../files.js';
import type { CliIo } from '../io.js';
import { cliInvocation } from '../invocation.js';
import { renderScanHtml } from './scan-html.js';
import { renderScanMarkdown } from './scan-markdown.js';
import { renderScanTable } from './scan-table.js';

export type ScanFormat = 'table' | 'json' | 'markdown' | 'html';

const REDIS_TYPES = ['string', 'list', 'set', 'zset', 'hash', 'stream'];

/** `--type`, lower-cased; a name that is no type would silently match nothing, so it is refused. */
export function redisTypeFlag(type: string | undefined): string | undefined {
  if (type === undefined) return undefined;
  if (!REDIS_TYPES.includes(type.toLowerCase()))
    throw new UsageError(`--type '${displayKey(type)}' is not a Redis type`, `use one of ${REDIS_TYPES.join(', ')}`);
  return type.toLowerCase();
}

/** Before any work: the output can be written where it is asked for. */
export function checkScanOutput(format: ScanFormat, out: string | undefined): void {
  if (format === 'html' && !out) throw new UsageError('--format html writes a file', 'add --out report.html');
  if (out) checkOutputPath(out, '--out');
}

export function renderScanReport(report: ScanReport, format: ScanFormat, io: CliIo, target?: PrintedTarget): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'markdown') return renderScanMarkdown(report);
  if (format === 'html') return renderScanHtml(report);
  return renderScanTable(report, { color: io.isTTY && !io.env.NO_COLOR, cli: cliInvocation(io.env), target });
}

/**
 * Print (or write to `out`) the report; `what` names it in the "written to" line; `target`, the
 * scanned target as printed commands name it.
 */
export function emitScanReport(io: CliIo, report: ScanReport, format: ScanFormat, out: string | undefined, what = 'report', target?: PrintedTarget): void {
  const rendered = renderScanReport(report, format, io, target);
  if (out) {
    writeOutputFile(out, rendered, '--out');
    io.stderr(`keywarden: ${what} written to ${out}\n`);
  } else io.stdout(rendered);
}
