/**
 * The scan report as Markdown, for incident documents and tickets. Patterns and keys go in
 * code spans with backticks and pipes neutralised, so a key name cannot break the table.
 */
import { displayPattern } from '../../display.js';
import type { ScanReport } from '../../keyspace/report.js';
import { BIG_KEY_TEXT, isBigKey } from '../../keyspace/thresholds.js';
import { countOf, formatBytes, formatCount, formatShare, formatTtl } from './format.js';
import { clusterKeys, sampleCaveat } from './scan-caveat.js';
import { takenAt } from './scan-table.js';

function code(text: string): string {
  return `\`${text.replace(/`/g, 'ˋ').replace(/\|/g, '\\|')}\``;
}

/** Render a ScanReport as GitHub-flavoured Markdown. */
export function renderScanMarkdown(report: ScanReport): string {
  const t = report.totals;
  const cov = report.coverage;
  const est = cov.sampled ? '~' : '';
  const out: string[] = [];
  out.push(`# keywarden scan: ${code(report.target.url)}`, '');
  if (report.takenAt) out.push(`${takenAt(report.takenAt).replace(/^taken/, 'Taken')}.`, '');
  out.push(
    `${report.target.mode}, Redis ${report.target.redisVersion}, ${countOf(report.target.nodes.length, 'node')}. ${est}${countOf(t.keys, 'key')}, ${est}${formatBytes(t.bytes)}; **${formatShare(t.noTtlBytes, t.bytes)} of bytes (${est}${countOf(t.noTtlKeys, 'key')}) have no TTL**.`,
    '',
  );
  if (cov.sampled) out.push(`> Sampled: ${formatCount(cov.keysSeen)} of ${formatCount(cov.dbsize)} keys read; figures are estimates, with 95% intervals.`, '');
  if (cov.interrupted) out.push(`> Incomplete: ${cov.interrupted} after ${formatCount(cov.keysSeen)} of ${formatCount(cov.dbsize)} keys.`, '');
  if (cov.unmeasured.length) out.push(`> Not measured: ${cov.unmeasured.join(', ')} (missing permission).`, '');
  if (cov.goneDuringScan)
    out.push(`> ${countOf(cov.goneDuringScan, 'key')} fewer than DBSIZE counted at the start: expired or deleted while the scan ran.`, '');
  if (cov.keysRead !== undefined)
    out.push(`${countOf(cov.keysSeen, 'key')} matched of ${formatCount(cov.keysRead)} read (${formatCount(cov.keysPerSecond)} keys read/s).`, '');
  const policy = report.policy !== undefined;
  out.push(
    `| Pattern | Keys | Bytes | Share of all bytes | No-TTL keys | No-TTL bytes | Types | Example |${policy ? ' Policy rule |' : ''}`,
    `|---|--:|--:|--:|--:|--:|---|---|${policy ? '---|' : ''}`,
  );
  for (const p of report.patterns) {
    const ci = p.ci ? ` (${formatBytes(p.ci.bytes[0])}–${formatBytes(p.ci.bytes[1])})` : '';
    const rule = policy
      ? ` ${p.rule ? `${code(displayPattern(p.rule.match))}${p.violations ? ` (${formatCount(p.violations)} violate)` : ''}` : '(none)'} |`
      : '';
    out.push(
      `| ${code(displayPattern(p.pattern))} | ${est}${formatCount(p.keys)} | ${est}${formatBytes(p.bytes)}${ci} | ${formatShare(p.bytes, t.bytes)} | ${formatCount(p.noTtlKeys)} | ${formatBytes(p.noTtlBytes)} | ${Object.keys(p.types).join(', ')} | ${p.examples[0] ? code(p.examples[0]) : ''} |${rule}`,
    );
  }
  const caveat = sampleCaveat(report);
  if (report.bigKeys.length) {
    out.push('', '## Biggest keys', '', `**Big** marks keys of ${BIG_KEY_TEXT} or more.`, '');
    if (caveat) out.push(`> ${caveat}`, '');
    out.push('| Key | Type | Bytes | Length | TTL | Big |', '|---|---|--:|--:|---|---|');
    for (const k of report.bigKeys)
      out.push(
        `| ${code(k.key)} | ${k.type} | ${formatBytes(k.bytes)} | ${k.length >= 0 ? formatCount(k.length) : ''} | ${formatTtl(k.ttlMs)} | ${isBigKey(k) ? '**big**' : ''} |`,
      );
  }
  if (report.expiryClusters.length) {
    out.push('', '## Keys expiring in the same second', '', `Seconds in which ${formatCount(clusterKeys(report))} keys or more expire together.`, '');
    if (caveat) out.push(`> ${caveat}`, '');
    out.push('| Second (UTC) | Keys | Mostly |', '|---|--:|---|');
    for (const x of report.expiryClusters)
      out.push(`| ${new Date(x.second * 1000).toISOString()} | ${est}${formatCount(x.keys)} | ${code(displayPattern(x.topPattern))} |`);
  }
  return `${out.join('\n')}\n`;
}
