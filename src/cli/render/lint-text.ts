/**
 * `keywarden lint` as text: `file:line:col rule message`, a code frame under it, and the fix.
 * Source lines and keys are escaped like keys everywhere else: a file can hold any bytes.
 */
import { displayPattern } from '../../display.js';
import type { LintFinding, LintReport } from '../../lint/index.js';

const CONTEXT_LINES = 1;

function frame(f: LintFinding, source: string | undefined): string {
  if (source === undefined) return '';
  const lines = source.split('\n');
  const first = Math.max(1, f.line - CONTEXT_LINES);
  const width = String(f.line).length;
  let out = '';
  for (let n = first; n <= f.line; n++) {
    const text = displayPattern((lines[n - 1] ?? '').replace(/\r$/, '').replace(/\t/g, '  '));
    out += `  ${n === f.line ? '>' : ' '} ${String(n).padStart(width)} | ${text}\n`;
  }
  const line = lines[f.line - 1] ?? '';
  const lead = line.slice(0, f.column - 1).replace(/\t/g, '  ').length;
  const length = f.endLine === f.line ? Math.max(1, f.endColumn - f.column) : Math.max(1, line.length - f.column + 1);
  return `${out}    ${' '.repeat(width)} | ${' '.repeat(lead)}${'^'.repeat(Math.min(length, 80))}\n`;
}

/** The text report: one block per finding, then a summary line. */
export function renderLintText(report: LintReport, sources: ReadonlyMap<string, string>): string {
  let out = '';
  for (const f of report.findings) {
    const who = f.client ? ` [${f.client}]` : '';
    out += `${displayPattern(f.file)}:${f.line}:${f.column} ${f.rule} ${displayPattern(f.message)}${who}\n`;
    out += frame(f, sources.get(f.file));
    out += `  fix: ${displayPattern(f.fix)}\n\n`;
  }
  for (const s of report.filesSkipped) out += `${displayPattern(s.file)}: not analysed, it does not parse: ${displayPattern(s.reason)}\n`;
  const files = new Set(report.findings.map((f) => f.file)).size;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  out +=
    report.findings.length === 0
      ? `keywarden lint: no findings in ${plural(report.filesScanned, 'file')} (${report.durationMs} ms)\n`
      : `keywarden lint: ${plural(report.findings.length, 'finding')} in ${plural(files, 'file')}, ${report.filesScanned} scanned (${report.durationMs} ms)\n`;
  return out;
}
