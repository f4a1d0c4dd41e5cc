/**
 * The human scan report: patterns sorted by bytes with a share bar, the no-TTL share made
 * to stand out, then the biggest keys and expiry clusters. Keys and patterns are escaped.
 */
import { runnableFix } from '../../doctor/commands.js';
import { displayPattern } from '../../display.js';
import type { PatternStats, ScanReport } from '../../keyspace/report.js';
import type { PrintedTarget } from '../../target/spec.js';
import { BIG_KEY_TEXT, isBigKey } from '../../keyspace/thresholds.js';
import { bar, countOf, formatBytes, formatCount, formatShare, formatTtl } from './format.js';
import { clusterKeys, sampleCaveat } from './scan-caveat.js';

export interface TableOptions {
  /** ANSI colours (only on a terminal, and never with NO_COLOR). */
  color?: boolean;
  /** Patterns shown; the rest are summed in one line. Default 25. */
  limit?: number;
  /** How printed commands invoke the CLI: `keywarden` (default) or `npx keywarden`. */
  cli?: string;
  /** The scanned target as the scan's own command named it (user name and TLS flags); else the report's URL. */
  target?: PrintedTarget;
}

const paint = (on: boolean) => ({
  red: (s: string) => (on ? `\x1b[31m${s}\x1b[39m` : s),
  yellow: (s: string) => (on ? `\x1b[33m${s}\x1b[39m` : s),
  bold: (s: string) => (on ? `\x1b[1m${s}\x1b[22m` : s),
  dim: (s: string) => (on ? `\x1b[2m${s}\x1b[22m` : s),
});

/** Render a ScanReport as a terminal table. */
export function renderScanTable(report: ScanReport, options: TableOptions = {}): string {
  const c = paint(options.color === true);
  const lines: string[] = [];
  const t = report.totals;
  const est = report.coverage.sampled ? '~' : '';
  lines.push(
    c.bold(
      `keywarden scan  ${report.target.url}  ${report.target.mode}  Redis ${report.target.redisVersion}${report.takenAt ? `  ${takenAt(report.takenAt)}` : ''}`,
    ),
  );
  lines.push(
    `${est}${countOf(t.keys, 'key')}, ${est}${formatBytes(t.bytes)} in ${countOf(report.patterns.length, 'pattern')}; ` +
      noTtl(`${formatShare(t.noTtlBytes, t.bytes)} of bytes (${est}${countOf(t.noTtlKeys, 'key')}) have no TTL`, t.noTtlBytes / Math.max(t.bytes, 1), c),
  );
  lines.push(...coverageNotes(report, c));
  lines.push('');
  lines.push(...patternTable(report, options.limit ?? 25, c));
  const caveat = sampleCaveat(report);
  if (report.bigKeys.length > 0) {
    lines.push('', `${c.bold('Biggest keys')} ${c.dim(`(BIG: ${BIG_KEY_TEXT} or more)`)}`);
    if (caveat) lines.push(c.yellow(`  ${caveat}`));
    for (const k of report.bigKeys) {
      const len = k.length >= 0 ? `  ${formatCount(k.length)} ${k.type === 'string' ? 'bytes long' : 'elements'}` : '';
      const big = isBigKey(k) ? c.red('BIG') : '   ';
      lines.push(
        `  ${big} ${formatBytes(k.bytes).padStart(9)}  ${k.type.padEnd(6)}  ttl ${formatTtl(k.ttlMs).padEnd(6)}  ${k.key}${len}${report.target.nodes.length > 1 ? `  (${k.node})` : ''}`,
      );
    }
  }
  if (report.expiryClusters.length > 0) {
    lines.push('', `${c.bold('Keys expiring in the same second (stampede risk)')} ${c.dim(`(${formatCount(clusterKeys(report))} keys or more)`)}`);
    if (caveat && report.bigKeys.length === 0) lines.push(c.yellow(`  ${caveat}`));
    for (const x of report.expiryClusters) {
      lines.push(
        `  ${new Date(x.second * 1000).toISOString().replace('.000Z', 'Z')}  ${(est + formatCount(x.keys)).padStart(8)} keys  mostly ${displayPattern(x.topPattern)}`,
      );
    }
  }
  if (report.policy) {
    if (report.policy.violations > 0) {
      // The fix command names the server scanned (a dump's path is no target: there it stays target-free).
      const [fix, ...notes] = runnableFix([`keywarden fix --policy ${report.policy.file ?? 'keywarden.yml'}`], {
        target: report.target.mode === 'rdb' ? undefined : (options.target ?? report.target.url),
        hasPolicy: true,
        policyFile: report.policy.file ?? 'keywarden.yml',
        cli: options.cli,
      });
      lines.push(
        '',
        c.red(
          `${est}${countOf(report.policy.violations, 'key')} ${report.policy.violations === 1 ? 'breaks its' : 'break their'} policy rule (no TTL, or a TTL longer than the rule's): ${fix}`,
        ),
        ...notes,
      );
    } else lines.push('', 'Every key follows its policy rule.');
  }
  return `${lines.join('\n')}\n`;
}

/** '2026-12-02 15:36:27 UTC': when the figures were taken. */
export function takenAt(iso: string): string {
  return `taken ${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')} UTC`;
}

function noTtl(text: string, ratio: number, c: ReturnType<typeof paint>): string {
  return ratio >= 0.5 ? c.red(text) : ratio >= 0.1 ? c.yellow(text) : text;
}

function coverageNotes(report: ScanReport, c: ReturnType<typeof paint>): string[] {
  const cov = report.coverage;
  const notes: string[] = [];
  if (cov.sampled)
    notes.push(
      c.yellow(
        `SAMPLED: ${formatShare(cov.keysSeen, cov.dbsize)} of ${formatCount(cov.dbsize)} keys read; figures marked ~ are estimates (95% intervals in --json).`,
      ),
    );
  if (cov.interrupted)
    notes.push(
      c.yellow(`INCOMPLETE: ${cov.interrupted} after ${formatCount(cov.keysSeen)} of ${formatCount(cov.dbsize)} keys; figures cover only the keys read.`),
    );
  if (cov.unmeasured.length > 0) notes.push(c.yellow(`Not measured (this user may not run MEMORY USAGE): ${cov.unmeasured.join(', ')}.`));
  for (const f of report.target.files ?? [])
    notes.push(
      c.dim(
        `${f.path}: ${f.format === 'valkey' ? 'VALKEY' : 'RDB '}${f.version}${f.writer ? ` from ${f.writer}` : ''}, TTLs judged at ${new Date(f.judgedAt).toISOString()} (${f.judgedFrom}).`,
      ),
    );
  if (cov.expired && cov.expired.keys > 0)
    notes.push(c.dim(`${formatCount(cov.expired.keys)} keys (${formatBytes(cov.expired.bytes)}) had already expired at that time: left out of every figure.`));
  if (cov.goneDuringScan)
    notes.push(
      c.dim(
        `${countOf(cov.goneDuringScan, 'key')} fewer than DBSIZE counted at the start: expired or deleted while the scan ran (every key that existed throughout was read).`,
      ),
    );
  const read =
    cov.keysRead === undefined ? `${countOf(cov.keysSeen, 'key')} read` : `${countOf(cov.keysSeen, 'key')} matched of ${formatCount(cov.keysRead)} read`;
  notes.push(
    c.dim(
      `${read} in ${(cov.durationMs / 1000).toFixed(1)} s (${formatCount(cov.keysPerSecond)} keys/s, ${cov.method})${cov.vanished ? `, ${formatCount(cov.vanished)} expired, deleted or moved to another node while scanning` : ''}.`,
    ),
  );
  return notes;
}

function patternTable(report: ScanReport, limit: number, c: ReturnType<typeof paint>): string[] {
  const shown = report.patterns.slice(0, limit);
  const rest = report.patterns.slice(limit);
  const total = Math.max(report.totals.bytes, 1);
  const width = Math.min(Math.max(7, ...shown.map((p) => displayPattern(p.pattern).length)), 48);
  const typesWidth = Math.max(11, ...shown.map((p) => typesAndTtl(p).length));
  const policy = report.policy !== undefined;
  // Each share says what it is a share of: all bytes scanned, or the pattern's own bytes.
  const head = `${'PATTERN'.padEnd(width)}  ${'KEYS'.padStart(11)}  ${'BYTES'.padStart(10)}  ${'SHARE OF ALL BYTES'.padEnd(21)}  ${'NO TTL, OF ITS BYTES'.padStart(6)}  ${policy ? `${'TYPES / TTL'.padEnd(typesWidth)}  POLICY RULE` : 'TYPES / TTL'}`;
  const lines = [c.bold(head)];
  for (const p of shown) lines.push(patternRow(p, width, total, report.coverage.sampled, c, policy ? typesWidth : 0));
  if (rest.length > 0) {
    const keys = rest.reduce((s, p) => s + p.keys, 0);
    const bytes = rest.reduce((s, p) => s + p.bytes, 0);
    lines.push(
      c.dim(
        `${`… ${rest.length} more ${rest.length === 1 ? 'pattern' : 'patterns'}`.padEnd(width)}  ${formatCount(keys).padStart(11)}  ${formatBytes(bytes).padStart(10)}  (see --json or --format html)`,
      ),
    );
  }
  return lines;
}

function typesAndTtl(p: PatternStats): string {
  const types = Object.entries(p.types)
    .sort((a, b) => b[1] - a[1])
    .map(([t]) => t)
    .join(',');
  return `${types} / ${dominantTtl(p)}`;
}

/** `typesWidth` > 0: a policy was given, and the row ends in its POLICY RULE column. */
function patternRow(p: PatternStats, width: number, total: number, sampled: boolean, c: ReturnType<typeof paint>, typesWidth: number): string {
  let name = displayPattern(p.pattern);
  if (name.length > width) name = `${name.slice(0, width - 1)}…`;
  const share = p.bytes / total;
  const noTtlRatio = p.bytes > 0 ? p.noTtlBytes / p.bytes : p.keys > 0 ? p.noTtlKeys / p.keys : 0;
  const noTtlText = formatShare(p.noTtlBytes > 0 || p.bytes > 0 ? p.noTtlBytes : p.noTtlKeys, p.bytes > 0 ? p.bytes : p.keys).padStart(20);
  const rule =
    typesWidth > 0 ? `  ${p.rule ? `${displayPattern(p.rule.match)}${p.violations ? c.red(` (${formatCount(p.violations)} violate)`) : ''}` : '(none)'}` : '';
  const est = sampled ? '~' : '';
  return (
    `${name.padEnd(width)}  ${(est + formatCount(p.keys)).padStart(11)}  ${(est + formatBytes(p.bytes)).padStart(10)}  ${bar(share, 16)} ${formatShare(p.bytes, total).padStart(4)}  ` +
    `${noTtlRatio >= 0.5 ? c.red(noTtlText) : noTtlText}  ${typesWidth > 0 ? typesAndTtl(p).padEnd(typesWidth) : typesAndTtl(p)}${rule}`
  );
}

function dominantTtl(p: PatternStats): string {
  const labels: Record<string, string> = { none: 'no ttl', lt1m: '<1m', lt1h: '<1h', lt1d: '<1d', lt7d: '<7d', ge7d: '>=7d' };
  const [bucket, n] = Object.entries(p.ttl).sort((a, b) => b[1] - a[1])[0] ?? ['none', 0];
  return `${labels[bucket]}${n < p.keys ? ' (mostly)' : ''}`;
}
