/**
 * How much of the keyspace doctor reads, and how its findings say so. Findings that hang on
 * one key (a 12 MB string among 50,000 keys) cannot come from luck: doctor reads every key
 * when that fits its time budget, measured on this server, and otherwise a deterministic
 * sample (the same stretches of the SCAN walk on every run, so two runs on unchanged data
 * read the same keys and agree), whose findings carry their coverage.
 *
 * The budget check: a sample is read first (it is needed anyway above the budget), timing
 * each key after the first batch (setup — script load, the latency probe's connection — is
 * counted once). DBSIZE × that cost is the estimate; within the budget, every key is read
 * with the same scanner, pacing and latency guard as `keywarden scan`.
 */
import { scanKeyspace, type ScanKeyspaceOptions } from '../keyspace/scan.js';
import type { ScanReport } from '../keyspace/report.js';
import type { Target } from '../target/connect.js';
import { targetArgument } from './commands.js';
import type { KeyspaceCoverage } from './types.js';
import { formatCount } from '../units.js';

/** Seed of the sample's stretch positions: any constant makes two runs read the same keys. */
const SAMPLE_SEED = 0x6b657977;
/** Default time budget for reading every key. */
export const DEFAULT_BUDGET_MS = 5000;

export interface KeyspaceReadOptions extends Pick<ScanKeyspaceOptions, 'policy' | 'db'> {
  sample: { keys: number } | { fraction: number };
  sampleDeadlineMs: number;
  budgetMs: number;
}

/** Read the keyspace as the budget allows; the report used for findings and how it was read. */
export async function readKeyspace(target: Target, options: KeyspaceReadOptions): Promise<{ report: ScanReport; coverage: KeyspaceCoverage }> {
  const base: ScanKeyspaceOptions = { policy: options.policy, db: options.db, top: 20 };
  const started = performance.now();
  const marks: Array<[number, number]> = [];
  const sample = await scanKeyspace(target, {
    ...base,
    sample: options.sample,
    sampleSeed: SAMPLE_SEED,
    deadlineMs: options.sampleDeadlineMs,
    onProgress: (p) => marks.push([performance.now(), p.keysSeen]),
  });
  const scanCommand = scanCommandFor(target);
  if (sample.coverage.complete) return { report: sample, coverage: readAll(sample, options.budgetMs, scanCommand) };

  const estimatedAllMs = Math.round(estimateAllMs(sample, marks, started));
  let reason: string;
  if (!Number.isFinite(estimatedAllMs)) {
    reason = `the sample read no key to time (${sample.coverage.interrupted ?? 'empty'})`;
  } else if (estimatedAllMs <= options.budgetMs) {
    const all = await scanKeyspace(target, { ...base, deadlineMs: Math.max(3 * options.budgetMs, options.budgetMs + 5000) });
    if (all.coverage.complete) return { report: all, coverage: { ...readAll(all, options.budgetMs, scanCommand), estimatedAllMs } };
    reason = `reading every key stopped early (${all.coverage.interrupted ?? 'incomplete'})`;
  } else {
    reason = `reading all ${formatCount(sample.coverage.dbsize)} keys would take about ${seconds(estimatedAllMs)}, over the budget of ${seconds(options.budgetMs)} (--budget)`;
  }
  return {
    report: sample,
    coverage: {
      read: 'sample',
      keysRead: sample.coverage.keysSeen,
      dbsize: sample.coverage.dbsize,
      durationMs: Math.round(performance.now() - started),
      budgetMs: options.budgetMs,
      ...(Number.isFinite(estimatedAllMs) ? { estimatedAllMs } : {}),
      reason,
      scanCommand,
    },
  };
}

function readAll(report: ScanReport, budgetMs: number, scanCommand: string): KeyspaceCoverage {
  return { read: 'all', keysRead: report.coverage.keysSeen, dbsize: report.coverage.dbsize, durationMs: report.coverage.durationMs, budgetMs, scanCommand };
}

/**
 * Wall time to read every key: the setup seen before the first batch, plus DBSIZE × the time
 * per key after it (the marginal cost; the whole sample's average when it was one batch).
 */
export function estimateAllMs(sample: ScanReport, marks: ReadonlyArray<readonly [number, number]>, started: number): number {
  const { dbsize, keysSeen, durationMs } = sample.coverage;
  const first = marks[0];
  const last = marks[marks.length - 1];
  if (first && last && last[1] > first[1] && last[0] > first[0]) {
    return first[0] - started + (dbsize * (last[0] - first[0])) / (last[1] - first[1]);
  }
  return keysSeen > 0 ? (dbsize * durationMs) / keysSeen : Infinity;
}

/** `keywarden scan <target>` for this target, without the password: the command that reads every key. */
export function scanCommandFor(target: Target): string {
  const replicas = target.nodes.length > 0 && target.nodes.every((n) => n.role === 'replica') ? ' --replicas' : '';
  const { arg, needsAuth } = targetArgument(target.spec.command ?? target.spec.display);
  return `keywarden scan ${arg}${replicas}${needsAuth ? ' (with REDISCLI_AUTH=<password> exported)' : ''}`;
}

function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}
