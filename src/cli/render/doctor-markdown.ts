/**
 * `keywarden doctor --format markdown`: the report for an incident document or a ticket.
 * Text from the server is escaped (`safeText`) and fenced so key names cannot break the layout.
 */
import { takenAt } from './scan-table.js';
import { SEVERITIES, type DoctorFinding, type DoctorReport } from '../../doctor/index.js';
import { safeText } from '../../doctor/format.js';
import { keyspaceLines } from './doctor-text.js';

/** The report as GitHub-flavoured Markdown. */
export function renderDoctorMarkdown(report: DoctorReport): string {
  const t = report.target;
  const out: string[] = ['# keywarden doctor', ''];
  if (t.url)
    out.push(
      `- Target: \`${code(t.url)}\` (${t.mode ?? 'standalone'}, Redis ${code(t.redisVersion ?? 'unknown')}, ${t.nodes.length} node${t.nodes.length === 1 ? '' : 's'})`,
    );
  if (report.takenAt) out.push(`- ${takenAt(report.takenAt).replace(/^taken/, 'Taken')}`);
  if (t.config) out.push(`- Config: \`${code(t.config)}\``);
  if (t.keyspace) out.push(...keyspaceLines(t.keyspace, { text: cell, command: (c) => `\`${code(c)}\`` }).map((line) => `- ${line.trim()}`));
  else if (t.sample) out.push(`- Sample: ${t.sample.keysSeen} of ${t.sample.dbsize} keys in ${t.sample.durationMs} ms`);
  out.push(`- Summary: **${report.summary.critical} critical**, ${report.summary.warning} warning(s), ${report.summary.info} info`, '');
  for (const severity of SEVERITIES) {
    const group = report.findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    out.push(`## ${severity[0].toUpperCase()}${severity.slice(1)} (${group.length})`, '');
    for (const f of group) out.push(...finding(f));
  }
  if (report.findings.length === 0) out.push('No findings.', '');
  if (report.skipped.length > 0) {
    out.push('## Skipped checks', '', '| check | node | reason |', '| --- | --- | --- |');
    for (const s of report.skipped) out.push(`| ${s.id} | ${cell(s.node ?? '')} | ${cell(s.reason)} |`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

function finding(f: DoctorFinding): string[] {
  return [
    `### ${cell(f.title)} (\`${f.id}\`)${f.node ? ` — \`${code(f.node)}\`` : ''}`,
    '',
    cell(f.detail),
    '',
    `*Why it matters:* ${cell(f.why)}`,
    '',
    '*Fix:*',
    '',
    '```',
    ...f.fix.map((line) => safeText(line).replace(/```/g, '`\u200b``')),
    '```',
    '',
  ];
}

/** Inline text: escaped, with Markdown's structural characters neutralised. */
function cell(text: string): string {
  return safeText(text).replace(/[|<>*_`[\]]/g, (c) => `\\${c}`);
}

function code(text: string): string {
  return safeText(text).replace(/`/g, "'");
}
