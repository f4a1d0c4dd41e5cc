/**
 * The scan report in the format asked for, written to stdout or to `--out`: shared by the
 * commands that produce a scan report from something other than a live scan (rdb, report
 * merge).
 */
import { writeFileSync } from 'node:fs';
import type { ScanReport } from '../../keyspace/report.js';
import type { CliIo } from '../flags.js';
import { renderScanHtml } from './scan-html.js';
import { renderScanMarkdown } from './scan-markdown.js';
import { renderScanTable } from './scan-table.js';

export type ScanFormat = 'table' | 'json' | 'markdown' | 'html';

export function renderScanReport(report: ScanReport, format: ScanFormat, color: boolean): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'markdown') return renderScanMarkdown(report);
  if (format === 'html') return renderScanHtml(report);
  return renderScanTable(report, { color });
}

/** Print (or write to `out`) the report; `what` names it in the "written to" line. */
export function emitScanReport(io: CliIo, report: ScanReport, format: ScanFormat, out: string | undefined, what = 'report'): void {
  const rendered = renderScanReport(report, format, io.isTTY && !io.env.NO_COLOR);
  if (out) {
    writeFileSync(out, rendered);
    io.stderr(`keywarden: ${what} written to ${out}\n`);
  } else io.stdout(rendered);
}
