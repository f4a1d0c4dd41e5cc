/**
 * Human output of `keywarden doctor`: what an SRE reads at the start of an incident call —
 * the worst first, each finding with its numbers, why it matters, and the fix to paste.
 * Every piece of text from the server goes through `safeText`: key names can hold escapes.
 */
import { takenAt } from './scan-table.js';
import { SEVERITIES, type DoctorFinding, type DoctorReport, type KeyspaceCoverage, type Severity } from '../../doctor/index.js';
import { formatCount, safeText } from '../../doctor/format.js';

const MARK: Record<Severity, string> = { critical: '✖', warning: '▲', info: '·' };
const HEADING: Record<Severity, string> = { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO' };

/** The report as text for a terminal. */
export function renderDoctorText(report: DoctorReport): string {
  const out: string[] = [header(report), ''];
  const manyNodes = report.target.nodes.length + (report.target.config ? 1 : 0) > 1;
  if (report.findings.length === 0) out.push('No findings: nothing here is heading for a memory incident.', '');
  for (const severity of SEVERITIES) {
    const group = report.findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    out.push(`${HEADING[severity]} (${group.length})`);
    for (const f of group) out.push(...finding(f, manyNodes), '');
  }
  if (report.skipped.length > 0) out.push(...skipped(report), '');
  out.push(summaryLine(report));
  return `${out.join('\n')}\n`;
}

function header(report: DoctorReport): string {
  const t = report.target;
  const parts: string[] = [];
  if (t.url)
    parts.push(
      `${safeText(t.url)} (${t.mode ?? 'standalone'}, Redis ${safeText(t.redisVersion ?? 'unknown')}, ${t.nodes.length} node${t.nodes.length === 1 ? '' : 's'})`,
    );
  if (t.config) parts.push(`config ${safeText(t.config)}`);
  let line = `keywarden doctor — ${parts.join(' + ')}${report.takenAt ? `, ${takenAt(report.takenAt)}` : ''}`;
  if (t.keyspace) line += `\n${keyspaceLines(t.keyspace).join('\n')}`;
  else if (t.sample) line += `\nsample: ${formatCount(t.sample.keysSeen)} of ${formatCount(t.sample.dbsize)} keys read in ${t.sample.durationMs} ms`;
  return line;
}

/**
 * "keyspace: all 50,001 keys read in 412 ms", or the sample, why, and what it can miss.
 * Shared with the Markdown renderer, which passes its own escaping for prose and for the command.
 */
export function keyspaceLines(
  k: KeyspaceCoverage,
  escape: { text(t: string): string; command(c: string): string } = { text: safeText, command: safeText },
): string[] {
  const t = escape.text;
  if (k.read === 'all') return [t(`keyspace: all ${formatCount(k.keysRead)} keys read in ${formatCount(k.durationMs)} ms`)];
  return [
    t(
      `keyspace: sample of ${formatCount(k.keysRead)} of ${formatCount(k.dbsize)} keys (the same keys on every run), read in ${formatCount(k.durationMs)} ms: ${k.reason ?? 'sampled'}`,
    ),
    `  ${t('estimates carry a 95% margin; big keys and expiry clusters come from the sample and may miss single keys (a big one outside it also moves the shares): ')}${escape.command(k.scanCommand)}${t(' reads every key')}`,
  ];
}

function finding(f: DoctorFinding, manyNodes: boolean): string[] {
  const where = manyNodes && f.node ? `  [${safeText(f.node)}]` : '';
  return [
    `  ${MARK[f.severity]} ${safeText(f.title)}  (${f.id})${where}`,
    `    ${safeText(f.detail)}`,
    `    why: ${safeText(f.why)}`,
    '    fix:',
    ...f.fix.map((line) => `      ${safeText(line)}`),
  ];
}

function skipped(report: DoctorReport): string[] {
  // One line per check and reason: a 3-master cluster says it once, with its node count.
  const byReason = new Map<string, { id: string; reason: string; nodes: number }>();
  for (const s of report.skipped) {
    const key = `${s.id}\n${s.reason}`;
    const entry = byReason.get(key) ?? { id: s.id, reason: s.reason, nodes: 0 };
    entry.nodes++;
    byReason.set(key, entry);
  }
  return [`Skipped (${byReason.size}):`, ...[...byReason.values()].map((s) => `  - ${s.id}: ${safeText(s.reason)}${s.nodes > 1 ? ` (${s.nodes} nodes)` : ''}`)];
}

function summaryLine(report: DoctorReport): string {
  const { critical, warning, info } = report.summary;
  return `${critical} critical, ${warning} warning${warning === 1 ? '' : 's'}, ${info} info`;
}
