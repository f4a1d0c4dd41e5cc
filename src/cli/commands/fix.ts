/**
 * `keywarden fix [url]`: TTLs in bulk from a policy. A dry run (the plan) unless --apply;
 * with --apply every change is journaled (a default journal file is created) so that
 * `keywarden undo` can take it back and `--resume` can continue after a crash. Ctrl-C stops
 * cleanly after the batch in flight and prints the summary with the resume command.
 */
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { applyFix, planFix, type FixOptions, type FixProgress } from '../../fix/index.js';
import { progressBar } from '../progress.js';
import { formatCount } from '../../units.js';
import type { FixReport } from '../../fix/types.js';
import { adHocPolicy, assertKeyTtl, formatDuration, loadPolicy } from '../../policy/index.js';
import { connectTarget } from '../../target/connect.js';
import { addTargetFlags, durationFlag, intFlag, targetFrom, type TargetFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';
import { interruptOnSigint } from '../signals.js';
import { cliInvocation } from '../invocation.js';
import { renderFixText } from '../render/fix-text.js';

interface FixFlags extends TargetFlags {
  policy?: string;
  match?: string;
  ttl?: string;
  apply?: boolean;
  maxTtl?: string;
  journal?: string;
  resume?: boolean;
  maxReplicaLag: string;
  maxOps?: string;
  fast?: boolean;
  json?: boolean;
  progress: boolean;
}

/** Register `keywarden fix`. */
export function registerFix(program: Command, io: CliIo): void {
  const cmd = program
    .command('fix')
    .summary('give keys without a TTL the TTL their policy rule says (dry run unless --apply)')
    .description(
      'Scan the keyspace and give every key that a policy rule says should expire, and has no TTL, that TTL with EXPIRE … NX: ' +
        'an existing TTL is never overwritten; durable and unmatched keys are never touched. Dry run (the plan) unless --apply. ' +
        'Paced by server latency and replica lag; journaled, resumable, and undoable with `keywarden undo`.',
    );
  addTargetFlags(cmd)
    .option('--policy <file>', 'keywarden.yml with the rules (see `keywarden policy init`)')
    .option('--match <glob>', 'ad hoc rule instead of a policy: keys matching this glob…')
    .option('--ttl <duration>', '…get this TTL (500ms, 90s, 30m, 24h, 7d or seconds)')
    .option('--apply', 'write the TTLs (default: dry run, nothing is written)')
    .option('--max-ttl <duration>', 'also shorten TTLs longer than this (EXPIRE … LT); new TTLs are capped too')
    .option('--journal <file>', 'JSONL journal of every change, for undo and --resume (default with --apply: keywarden-fix-<time>.jsonl)')
    .option('--resume', 'continue the run recorded in --journal from its last checkpoint')
    .option('--max-replica-lag <duration>', 'pause writes while a replica lags more than this (0 = off)', '5s')
    .option('--max-ops <n>', 'hard cap: keys handled per second, per node')
    .option('--fast', 'lift the latency guard (maintenance windows): bigger steps, no pauses')
    .option('--json', 'print the report as one JSON document on stdout')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .action(async (url: string | undefined, flags: FixFlags, command: Command) => {
      finishWith(command, await runCommand(io, flags.json === true, () => runFix(url, flags, io)));
    });
}

async function runFix(url: string | undefined, flags: FixFlags, io: CliIo): Promise<number> {
  if (flags.apply) {
    await requireUnit(flags.ttl, '--ttl', 'h', io);
    await requireUnit(flags.maxTtl, '--max-ttl', 'd', io);
  }
  const policy = await policyFrom(flags);
  if (flags.resume && !flags.journal)
    throw new UsageError('--resume needs the journal of the run to continue', 'add --journal FILE (the file the interrupted run wrote)');
  if (flags.resume && !flags.apply) throw new UsageError('--resume continues an --apply run', 'add --apply');
  const spec = targetFrom(url, flags, io.env);
  if (flags.apply && spec.replicas)
    throw new UsageError('fix --apply writes to the primaries; replicas are read-only', 'drop --replicas (a dry run may read the replicas)');
  const options: FixOptions = {
    policy,
    db: spec.db,
    maxTtlMs: flags.maxTtl !== undefined ? durationFlag(flags.maxTtl, '--max-ttl', { example: '30d' }) : undefined,
    journal: flags.apply ? (flags.journal ?? defaultJournal()) : undefined,
    resume: flags.resume,
    maxReplicaLagMs: durationFlag(flags.maxReplicaLag, '--max-replica-lag', { example: '10s' }),
    maxOps: intFlag(flags.maxOps, '--max-ops'),
    fast: flags.fast,
  };
  if (!flags.apply && flags.journal) io.stderr('keywarden: dry run: nothing is written, so no journal either\n');

  if (options.maxTtlMs !== undefined) assertKeyTtl(options.maxTtlMs, '--max-ttl', '--max-ttl 30d');
  const target = await connectTarget(spec);
  const interrupt = interruptOnSigint(io, 'stopping after the batch in flight; --resume continues');
  const verb = flags.apply ? 'fixing' : 'planning';
  const progress =
    flags.progress && io.isTTY
      ? progressBar(
          `${verb} [{bar}] {percentage}% | {keys} keys | {need} need a TTL${flags.apply ? ' | {applied} set' : ''} | {rate} keys/s | ETA {eta_formatted}`,
          (p: FixProgress) => ({
            keys: formatCount(p.keysSeen),
            need: formatCount(p.needTtl),
            applied: formatCount(p.applied),
            rate: formatCount(p.keysPerSecond),
          }),
        )
      : undefined;
  let report: FixReport;
  try {
    report = await (flags.apply ? applyFix : planFix)(target, {
      ...options,
      signal: interrupt.signal,
      onProgress: progress?.update,
      // Before the first write, name what is about to change.
      onStart: () =>
        io.stderr(`keywarden: writing TTLs to ${target.spec.display} (${target.mode}, ${target.nodes.length} node${target.nodes.length === 1 ? '' : 's'})\n`),
      onEvictionRisk: (risks) => {
        for (const r of risks) {
          io.stderr(
            `keywarden: warning: ${r.node} uses ${r.policy} at ${Math.round(r.usedRatio * 100)}% of maxmemory: every key given a TTL can be evicted at once, before its TTL ends (raise maxmemory or free memory first if these keys must stay)\n`,
          );
        }
      },
      onResume: (r) => {
        if (r.restarted.length > 0)
          io.stderr(
            `keywarden: ${r.restarted.join(', ')} restarted since the checkpoint (SCAN cursors do not survive that): walking it again; keys already fixed are skipped\n`,
          );
      },
      onReplicaLag: (e) => {
        if (e.pausedMs === undefined)
          io.stderr(
            `keywarden: pausing writes to ${e.node}: replica ${e.replica} lags ${e.lagMs === Infinity ? '(not in sync)' : formatDuration(e.lagMs)} > ${flags.maxReplicaLag}\n`,
          );
        else io.stderr(`keywarden: replicas of ${e.node} caught up after ${(e.pausedMs / 1000).toFixed(1)} s; writing again\n`);
      },
    });
  } finally {
    progress?.stop();
    interrupt.dispose();
    await target.close();
  }
  io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderFixText(report, { cli: cliInvocation(io.env), target: spec.command }));
  return report.complete ? 0 : 130;
}

async function policyFrom(flags: FixFlags) {
  if (flags.policy && (flags.match || flags.ttl))
    throw new UsageError('give either --policy or --match/--ttl, not both', 'put the extra rule in the policy file');
  if (flags.policy) return loadPolicy(flags.policy);
  if (flags.match && flags.ttl) return adHocPolicy(flags.match, flags.ttl);
  if (flags.match || flags.ttl)
    throw new UsageError(`${flags.match ? '--match' : '--ttl'} needs ${flags.match ? '--ttl' : '--match'}`, 'for example --match "session:*" --ttl 24h');
  throw new UsageError(
    'fix needs rules: a policy file or an ad hoc rule',
    'add --policy keywarden.yml (write one with `keywarden policy init`), or --match GLOB --ttl DURATION',
  );
}

/**
 * `--ttl 24` means 24 seconds, as EXPIRE does, but people who type it usually meant hours:
 * writing with it takes an explicit unit, or a yes on a terminal.
 */
async function requireUnit(value: string | undefined, flag: string, likely: string, io: CliIo): Promise<void> {
  // 0 is no TTL in any unit: the floor's own message says so.
  if (value === undefined || !/^\d+(?:\.\d+)?$/.test(value.trim()) || Number(value) === 0) return;
  const n = value.trim();
  if (io.isTTY && process.stdin.isTTY && (await confirm(`keywarden: ${flag} ${n} is ${n} seconds (not ${n}${likely}). Write TTLs of ${n} seconds? [y/N] `)))
    return;
  throw new UsageError(
    `${flag} ${n} has no unit: with --apply that would be ${n} seconds`,
    `write ${flag} ${n}s if you mean seconds (or ${flag} ${n}${likely}, ${flag} ${n}m…)`,
  );
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function defaultJournal(): string {
  return `keywarden-fix-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')}.jsonl`;
}
