/**
 * Human output of `keywarden fix` (the dry-run plan and the summary after --apply) and of
 * `keywarden undo`. Keys arrive already escaped (`displayKey`) in the reports.
 */
import type { FixReport, UndoReport, UndoSkipReason } from '../../fix/types.js';
import type { PrintedTarget } from '../../target/spec.js';
import { targetArgument } from '../../doctor/commands.js';
import { shellArg } from '../invocation.js';
import { formatBytes, formatCount } from './format.js';
import { takenAt } from './scan-table.js';

/** How printed commands invoke the CLI: `keywarden`, or `npx keywarden` when it is not on the PATH. */
export interface FixTextOptions {
  cli?: string;
  /** The target as the run's own command named it (user name and TLS flags); else the report's URL. */
  target?: PrintedTarget;
}

/** The plan (dry run) or the summary (apply), per rule, then what was left alone and why. */
export function renderFixText(r: FixReport, options: FixTextOptions = {}): string {
  const out: string[] = [];
  const t = r.totals;
  const verb = r.dryRun ? 'DRY RUN: nothing was written. Plan' : 'Applied';
  out.push(
    `${verb} for ${r.target.url} (${r.target.mode}, ${r.target.nodes.length} node${r.target.nodes.length === 1 ? '' : 's'})${r.policy.file ? `, policy ${r.policy.file}` : ''}${r.resumed ? ', resumed' : ''}${r.takenAt ? `, ${takenAt(r.takenAt)}` : ''}`,
  );
  out.push('');
  const rows: string[][] = [
    ['rule', 'ttl', 'matched', 'need TTL', r.dryRun ? 'will free' : 'applied', r.dryRun ? 'have TTL' : 'had TTL', ...(r.policy.maxTtl ? ['shortened'] : [])],
  ];
  for (const rule of r.rules) {
    rows.push([
      rule.match,
      rule.ttl ?? 'durable',
      formatCount(rule.matched),
      formatCount(rule.needTtl),
      r.dryRun ? bytes(rule.bytes, r) : formatCount(rule.applied),
      formatCount(rule.alreadyHadTtl),
      ...(r.policy.maxTtl ? [formatCount(rule.shortened)] : []),
    ]);
  }
  out.push(...table(rows));
  for (const rule of r.rules) {
    if (rule.examples.length > 0) out.push(`  ${rule.match}: e.g. ${rule.examples.join(', ')}`);
  }
  out.push('');
  out.push(
    `Left alone: ${formatCount(t.alreadyHadTtl)} already had a TTL${t.changedSinceScan ? `, ${formatCount(t.changedSinceScan)} deleted between scan and write` : ''}, ${formatCount(t.durable)} durable, ${formatCount(t.noRule)} matched no rule${t.noRuleExamples.length ? ` (e.g. ${t.noRuleExamples.join(', ')})` : ''}.`,
  );
  const rate = `${formatCount(t.keysScanned)} keys scanned in ${(t.durationMs / 1000).toFixed(1)} s (${formatCount(t.keysPerSecond)} keys/s)`;
  out.push(`${rate}${t.replicaPauseMs > 0 ? `, ${(t.replicaPauseMs / 1000).toFixed(1)} s paused for replica lag` : ''}.`);
  if (r.dryRun) {
    out.push(
      `${formatCount(t.needTtl)} keys need a TTL (${bytes(t.bytes, r)} to be freed as they expire)${r.policy.maxTtl ? `; ${formatCount(t.shortened)} TTLs above ${r.policy.maxTtl} would be shortened` : ''}.`,
    );
    if (t.needTtl + t.shortened > 0) out.push('Run again with --apply to set them (EXPIRE … NX: an existing TTL is never overwritten).');
  } else {
    out.push(
      `${formatCount(t.applied)} TTLs set${t.shortened ? `, ${formatCount(t.shortened)} shortened` : ''}; ${bytes(t.bytes, r)} will be freed as they expire.`,
    );
    if (r.journal) out.push(`Journal: ${r.journal}`, `Undo with: ${fixCommands(r, r.journal, options).undo}`);
  }
  if (!r.complete) {
    out.push(`Stopped early (${r.interrupted ?? 'incomplete'}).`);
    if (r.journal && !r.dryRun) out.push(`Continue with: ${fixCommands(r, r.journal, options).resume}`);
  }
  if (r.journal && !r.dryRun && targetArgument(options.target ?? r.target.url).needsAuth) {
    out.push('The target needs a password: export REDISCLI_AUTH=<password> before these commands (keywarden reads it as redis-cli does).');
  }
  return `${out.join('\n')}\n`;
}

/**
 * The undo and resume commands of an apply run, runnable as printed: the target it wrote to
 * (credentials left out, see targetArgument), the same rules and --max-ttl (resume checks the
 * journal belongs to them), and the journal.
 */
export function fixCommands(r: FixReport, journal: string, options: FixTextOptions = {}): { undo: string; resume: string } {
  const cli = options.cli ?? 'keywarden';
  const target = targetArgument(options.target ?? r.target.url).arg;
  const rules = r.policy.file
    ? ['--policy', shellArg(r.policy.file)]
    : r.rules.flatMap((rule) => ['--match', shellArg(rule.match), '--ttl', shellArg(rule.ttl ?? '')]);
  const maxTtl = r.policy.maxTtl ? ['--max-ttl', shellArg(r.policy.maxTtl)] : [];
  return {
    undo: `${cli} undo ${target} --journal ${shellArg(journal)}`,
    resume: [cli, 'fix', target, ...rules, ...maxTtl, '--apply', '--resume', '--journal', shellArg(journal)].join(' '),
  };
}

const REASONS: Record<UndoSkipReason, string> = {
  gone: 'key no longer exists',
  noTtl: 'key has no TTL any more',
  longerTtl: 'changed since: expires later than fix set (the application refreshed or extended it)',
  otherTtl: 'changed since: expires at another time than fix set (re-created or given a TTL again)',
  refused: 'fix did not set it (the key already had a TTL)',
  shortened: 'TTL was shortened by --max-ttl (undo only removes TTLs fix added)',
  unknownNode: 'journaled on a node that is not part of this target',
  migrating: 'its slot is being moved between masters (resharding in progress): rerun undo once it is done',
  unreachable: 'no reachable master serves its slot (node gone or cluster not covering it): rerun undo once it is back',
  unconfirmed: "fix's write was in flight when its run died: its TTL cannot be told from the application's",
};

/** What undo did (or, with --dry-run, would do), and each reason it left keys alone. */
export function renderUndoText(r: UndoReport): string {
  const out = [
    `${r.dryRun ? 'DRY RUN: would PERSIST' : 'PERSIST'} ${formatCount(r.persisted)} of ${formatCount(r.journaled)} journaled keys on ${r.target.url} (journal ${r.journal}, ${(r.durationMs / 1000).toFixed(1)} s${r.takenAt ? `, ${takenAt(r.takenAt)}` : ''}).`,
  ];
  if (r.rerouted > 0)
    out.push(`${formatCount(r.rerouted)} keys had moved to another master since fix (resharding or failover) and were handled where they live now.`);
  if (r.interrupted) out.push('Stopped early: run the same undo again to finish (keys already undone are skipped).');
  const skipped = (Object.keys(r.skipped) as UndoSkipReason[]).filter((k) => r.skipped[k] > 0);
  if (skipped.length > 0) out.push('Left alone:');
  for (const k of skipped) {
    const ex = r.skippedExamples[k] ?? [];
    out.push(`  ${formatCount(r.skipped[k]).padStart(10)}  ${REASONS[k]}${ex.length ? ` (e.g. ${ex.join(', ')})` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

function bytes(n: number, r: FixReport): string {
  // Estimates (a measured sample scaled to the keys written) say so.
  return r.bytesUnmeasured ? 'n/a' : `${r.bytesEstimated ? '≈' : ''}${formatBytes(n)}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) =>
    row
      .map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd(),
  );
}
