/**
 * `planFix` / `applyFix`: decide each key against the policy and (with apply) give the keys
 * that need one a TTL. The plan streams inspected KeyRecords (type, TTL, bytes) from the
 * live scanner. Apply reads nothing before writing: it walks keys only, matches rules here,
 * and sends every key a rule gives a TTL, letting the server's `PEXPIRE … NX` answer whether
 * it had one. The write steps (write-steps.ts) run on the walk engine (keyspace/walk/): plain
 * SCAN pages, each page's keys written with fix-expire.lua (pipelined MULTI/EXEC where this
 * user may not run scripts) and journaled through the ledger (ledger.ts). Writes are
 * `PEXPIRE … NX` (and `… LT` for `maxTtlMs`) only; every batch is journaled before it is
 * sent, with a checkpoint after it is answered.
 */
import type { Redis } from 'ioredis';
import { scanRecords, type NodeCheckpoint, type ScanProgress } from '../keyspace/scanner.js';
import { walkTarget } from '../keyspace/walk/run.js';
import { formatDuration, type Policy } from '../policy/index.js';
import { openNodeConnection, type Target } from '../target/connect.js';
import { ambientP99 } from './ambient.js';
import { evictionRisks, type EvictionRisk } from './eviction-risk.js';
import { FixInterruptedError, runFailure } from './errors.js';
import { checkTtls, checkWritable } from './preflight.js';
import { openJournal, type JournalWriter } from './journal.js';
import { decideKey, FixTally } from './plan.js';
import { ReplicaLagBrake } from './replica-lag.js';
import { WriteSteps } from './write-steps.js';
import type { FixOptions, FixReport } from './types.js';

export const DEFAULT_MAX_REPLICA_LAG_MS = 5000;
const DEFAULT_TARGET_P99_MS = 1;
const UNSCRIPTED_STEP_MS = 2;

/** Scan and report what `applyFix` would do, without writing anything (the server sees only SCAN and reads). */
export function planFix(target: Target, options: Omit<FixOptions, 'journal' | 'resume'>): Promise<FixReport> {
  return runFix(target, options, false);
}

/**
 * Give every key a policy rule says should expire, and has no TTL, that TTL with
 * `PEXPIRE … NX`, so no existing TTL is ever overwritten. Durable and unmatched keys are never
 * touched. Paced by the latency guard and the replica-lag brake; journaled for undo and resume.
 *
 * @throws FixInterruptedError (one line, with the resume command) when a node goes away mid-run.
 */
export function applyFix(target: Target, options: FixOptions): Promise<FixReport> {
  return runFix(target, options, true);
}

async function runFix(target: Target, options: FixOptions, apply: boolean): Promise<FixReport> {
  checkTtls(options);
  if (apply) await checkWritable(target);
  const tally = new FixTally(options.policy);
  const { journal, resumeFrom } = apply ? await openJournal(target, options) : {};
  if (apply) options.onStart?.();
  // Said by the plan as well as before the writes: a read of INFO memory per node.
  const risks = await evictionRisks(target);
  if (risks.length > 0) options.onEvictionRisk?.(risks);
  const conns = new Map<string, Redis>();
  const brakes = new Map<string, ReplicaLagBrake>();
  const maxLag = options.maxReplicaLagMs ?? DEFAULT_MAX_REPLICA_LAG_MS;
  const state: RunState = { tally, journal, resumeFrom, unmeasured: options.measureMemory === false, risks };
  try {
    if (!apply) return await runWalk(target, options, state, (o) => walkForPlan(target, o, state), false);
    for (const node of target.nodes) {
      if (maxLag > 0) {
        brakes.set(
          node.address,
          new ReplicaLagBrake(node.address, node.client, {
            maxLagMs: maxLag,
            signal: options.signal,
            onPause: (e) => options.onReplicaLag?.(e),
            onResume: (e) => options.onReplicaLag?.(e),
          }),
        );
      }
      // Writes get a connection of their own: the target's moves between databases, and the brake reads INFO on it.
      conns.set(node.address, await openNodeConnection(target, node));
    }
    const steps = new Map(
      [...conns].map(([address, conn]) => [
        address,
        new WriteSteps(conn, {
          ...options,
          mode: target.mode,
          tally: state.tally,
          journal: state.journal,
          brake: brakes.get(address),
          measure: options.measureMemory !== false,
          match: singleRule(options.policy),
          onUnmeasured: () => (state.unmeasured = true),
        }),
      ]),
    );
    const scripted = (
      await Promise.all([...steps.values()].map((s) => s.writer.scripted())).catch((err: unknown) => {
        throw runFailure(err, target.spec.display).error;
      })
    ).every(Boolean);
    return await runWalk(target, options, state, (o) => walkWrites(target, o, state, steps, scripted), true, [...brakes.values()]);
  } finally {
    for (const c of conns.values()) c.disconnect();
    journal?.close();
  }
}

interface RunState {
  tally: FixTally;
  journal?: JournalWriter;
  resumeFrom?: NodeCheckpoint[];
  /** A key was written (or, dry run, read) whose bytes could not be measured. */
  unmeasured: boolean;
  risks: EvictionRisk[];
}

/** What a walk of the whole target returns: per node, whether it finished, and where it stopped. */
type Walk = { nodes: Array<{ complete: boolean; checkpoint: NodeCheckpoint }>; interrupted?: string };

/** Run one walk with the latency guard's target, and turn it (or its failure) into the report. */
async function runWalk(
  target: Target,
  options: FixOptions,
  state: RunState,
  walk: (o: FixOptions) => Promise<Walk>,
  writing: boolean,
  brakes: ReplicaLagBrake[] = [],
): Promise<FixReport> {
  const { tally, journal, resumeFrom } = state;
  const started = performance.now();
  try {
    // Writes only: a dry run reads as gently as scan does. See ambient.ts.
    const ambient = writing && !options.fast && options.targetP99Ms === undefined ? await ambientP99(target) : undefined;
    const targetP99Ms = ambient !== undefined ? Math.max(DEFAULT_TARGET_P99_MS, ambient) : options.targetP99Ms;
    const run = await walk({ ...options, targetP99Ms });
    const pauses = brakes.reduce((s, b) => s + b.pausedMs, 0);
    const totals = tally.totals(performance.now() - started, pauses);
    const complete = run.nodes.every((n) => n.complete);
    journal?.write(...run.nodes.filter((n) => n.complete).map((n) => ({ t: 'cp' as const, cp: n.checkpoint })), { t: 'end', complete, totals });
    return {
      kind: 'keywarden.fix',
      schemaVersion: 1,
      takenAt: new Date(Date.now() - totals.durationMs).toISOString(),
      dryRun: !writing,
      target: { url: target.spec.display, mode: target.mode, nodes: target.nodes.map((n) => n.address) },
      policy: {
        ...(options.policy.file ? { file: options.policy.file } : {}),
        ...(options.maxTtlMs !== undefined ? { maxTtl: formatDuration(options.maxTtlMs) } : {}),
      },
      rules: tally.summaries(),
      totals,
      journal: journal?.path ?? null,
      ...(targetP99Ms !== undefined
        ? { guard: { targetP99Ms: round2(targetP99Ms), ...(ambient !== undefined ? { ambientP99Ms: round2(ambient) } : {}) } }
        : {}),
      resumed: resumeFrom !== undefined,
      complete,
      ...(run.interrupted ? { interrupted: run.interrupted } : {}),
      ...(state.unmeasured ? { bytesUnmeasured: true } : {}),
      ...(tally.bytesEstimated ? { bytesEstimated: true } : {}),
      ...(state.risks.length > 0 ? { evictionRisk: state.risks } : {}),
    };
  } catch (err) {
    const { error, transient } = runFailure(err, target.spec.display, target.spec.replyTimeoutMs);
    // A dry run wrote nothing and has nothing to resume.
    if (!writing) throw new FixInterruptedError(`dry run stopped: ${error.message}`, error.hint, { cause: err });
    // A journal that cannot be written stops the run before the writes it could not record.
    const applied = tally.totals(0, 0).applied;
    const again = journal ? `rerun the same command with --resume --journal ${journal.path} (progress is saved there)` : 'rerun the same command';
    const hint = transient ? `once the server answers again, ${again}` : error.hint.includes('--resume') ? error.hint : `${error.hint}; then ${again}`;
    throw new FixInterruptedError(`stopped after ${applied} TTLs set: ${error.message}`, hint, { cause: err });
  }
}

function progress(options: FixOptions, tally: FixTally): (p: ScanProgress) => void {
  return (p) => {
    const t = tally.totals(0, 0);
    options.onProgress?.({ ...p, needTtl: t.needTtl, applied: t.applied });
  };
}

/**
 * --apply: every node walked with write steps (write-steps.ts), on its own connection with its
 * replica-lag brake. When one node fails, the others stop reading, finish the writes already
 * journaled, and the failure is thrown.
 */
async function walkWrites(target: Target, options: FixOptions, state: RunState, steps: Map<string, WriteSteps>, scripted: boolean): Promise<Walk> {
  const pace = {
    ...options,
    db: options.db ?? target.spec.db,
    resume: state.resumeFrom,
    onProgress: progress(options, state.tally),
    // Without scripts a step is paced from its round trip, which on a busy host is mostly
    // queueing: aimed at the default 0.5 ms it gives pages of a few dozen keys. Aiming the
    // round trip at 2 ms gives calls of ~0.4 ms server time (INFO commandstats, bench:fix),
    // still under the guard's budget.
    ...(!scripted && !options.fast && options.targetCallMs === undefined ? { targetCallMs: UNSCRIPTED_STEP_MS } : {}),
  };
  const run = await walkTarget(target, pace, () => ({ steps: ({ node }) => steps.get(node.address)! }));
  const failed = run.nodes.find((n) => n.failure);
  // The scripted walk's failure as the server said it; the pipelined one's named by node, as the scanner's always was.
  if (failed) throw scripted ? failed.error : failed.failure;
  return run;
}

/** The dry run: inspected records (type, TTL, bytes), the plan counted from them. */
async function walkForPlan(target: Target, options: FixOptions, state: RunState): Promise<Walk> {
  const { tally } = state;
  const run = await scanRecords(target, {
    ...options,
    db: options.db ?? target.spec.db,
    resume: undefined,
    match: singleRule(options.policy),
    onBatch(records) {
      for (const r of records) {
        const d = decideKey(r, tally.matcher.match(r.key), options);
        tally.plan(r, d);
        if (d.action === 'shorten') tally.shortened(d);
      }
    },
    onProgress: progress(options, tally),
  });
  if (options.measureMemory === false || run.nodes.some((n) => !n.measuresMemory)) state.unmeasured = true;
  return run;
}

/** One non-durable rule: SCAN MATCH filters on the server (unmatched keys are never touched anyway). */
function singleRule(policy: Policy): string | undefined {
  return policy.rules.length === 1 && policy.rules[0].role !== 'durable' ? policy.rules[0].match : undefined;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
