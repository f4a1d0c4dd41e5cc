/**
 * `planFix` / `applyFix`: decide each key against the policy and (with apply) give the keys
 * that need one a TTL. The plan streams inspected KeyRecords (type, TTL, bytes) from the
 * live scanner. Apply reads nothing before writing: it walks keys only, matches rules here,
 * and sends every key a rule gives a TTL, letting the server's `PEXPIRE … NX` answer whether
 * it had one. Where scripts may run, one fix-step.lua call per node at a time both writes the
 * keys decided from earlier pages and reads the next ones (apply-steps.ts); otherwise the
 * scanner reads SCAN pages and a NodeWriter sends pipelined writes. Writes are `PEXPIRE … NX`
 * (and `… LT` for `maxTtlMs`) only; every batch is journaled before it is sent, with a
 * checkpoint after it is answered.
 */
import type { Redis } from 'ioredis';
import type { KeyRecord } from '../keyspace/record.js';
import { scanRecords, type NodeCheckpoint, type ScanOptions, type ScanProgress } from '../keyspace/scanner.js';
import type { PaceOptions } from '../keyspace/pace.js';
import { formatDuration, type Policy } from '../policy/index.js';
import { openNode, type Target } from '../target/connect.js';
import { ambientP99 } from './ambient.js';
import { evictionRisks, type EvictionRisk } from './eviction-risk.js';
import { FixInterruptedError, runFailure } from './errors.js';
import { checkTtls, checkWritable } from './preflight.js';
import { applyBySteps } from './apply-steps.js';
import type { JournalWriter } from './journal.js';
import { NodeWriter, type WriteGroup } from './node-writer.js';
import { decideKey, FixTally } from './plan.js';
import { ReplicaLagBrake, type LagEvent } from './replica-lag.js';
import { openJournal } from './resume.js';
import { StepScript } from './step-script.js';
import type { FixReport } from './types.js';

export interface FixProgress extends ScanProgress {
  needTtl: number;
  applied: number;
}

export interface FixOptions extends PaceOptions {
  policy: Policy;
  /** `--max-ttl`: shorten longer TTLs to this (EXPIRE … LT); new TTLs are capped too. */
  maxTtlMs?: number;
  /** Only this database (standalone). */
  db?: number;
  /** JSONL journal path (apply only): what undo reads and resume continues from. */
  journal?: string;
  /** Continue the run recorded in `journal` from its last checkpoints. */
  resume?: boolean;
  /** Pause writes to a primary while one of its replicas lags more than this. Default 5 s; 0 turns the brake off. */
  maxReplicaLagMs?: number;
  /** Skip MEMORY USAGE (bytes are then not reported). */
  measureMemory?: boolean;
  signal?: AbortSignal;
  onProgress?(progress: FixProgress): void;
  onReplicaLag?(event: LagEvent & { pausedMs?: number }): void;
  /** Apply: every check passed (TTL floor, server version, journal); the first write comes next. */
  onStart?(): void;
  /** Before the first write (and in a dry run): nodes where a volatile-* policy near maxmemory makes every key given a TTL evictable at once. */
  onEvictionRisk?(risks: EvictionRisk[]): void;
  /** On --resume: how many nodes continue from a checkpoint, and which restarted since (walked again). */
  onResume?(info: { nodes: number; restarted: string[] }): void;
  /** Test seam: runs after the scan of a batch and before the call that writes it is sent. */
  beforeWrite?(keys: Buffer[]): Promise<void>;
  /** Jitter source (tests). */
  random?: () => number;
}

export const DEFAULT_MAX_REPLICA_LAG_MS = 5000;
const DEFAULT_TARGET_P99_MS = 1;
const KEYS_ONLY_SCAN_MS = 2;

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
  const { journal, resumeFrom } = apply ? await openJournal(target, options) : { journal: undefined, resumeFrom: undefined };
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
      const at = node.address.lastIndexOf(':');
      conns.set(node.address, await openNode(target.spec, node.address.slice(0, at), Number(node.address.slice(at + 1)), node.address));
    }
    const scripted = (
      await Promise.all([...conns.values()].map((c) => new StepScript(c).available())).catch((err: unknown) => {
        throw runFailure(err, target.spec.display).error;
      })
    ).every(Boolean);
    const walk = scripted ? (o: FixOptions) => walkBySteps(target, o, state, conns, brakes) : (o: FixOptions) => walkWithWriters(target, o, state, conns, brakes);
    return await runWalk(target, options, state, walk, true, [...brakes.values()]);
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
interface Walk {
  nodes: Array<{ complete: boolean; checkpoint: NodeCheckpoint }>;
  interrupted?: string;
}

/** Run one walk with the latency guard's target, and turn it (or its failure) into the report. */
async function runWalk(target: Target, options: FixOptions, state: RunState, walk: (o: FixOptions) => Promise<Walk>, writing: boolean, brakes: ReplicaLagBrake[] = []): Promise<FixReport> {
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
      dryRun: !writing,
      target: { url: target.spec.display, mode: target.mode, nodes: target.nodes.map((n) => n.address) },
      policy: { ...(options.policy.file ? { file: options.policy.file } : {}), ...(options.maxTtlMs !== undefined ? { maxTtl: formatDuration(options.maxTtlMs) } : {}) },
      rules: tally.summaries(),
      totals,
      journal: journal?.path ?? null,
      ...(targetP99Ms !== undefined ? { guard: { targetP99Ms: round2(targetP99Ms), ...(ambient !== undefined ? { ambientP99Ms: round2(ambient) } : {}) } } : {}),
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

/** --apply where scripts may run: fix-step.lua on every node (apply-steps.ts). */
function walkBySteps(target: Target, options: FixOptions, state: RunState, conns: Map<string, Redis>, brakes: Map<string, ReplicaLagBrake>): Promise<Walk> {
  return applyBySteps(target, conns, brakes, {
    ...options,
    mode: target.mode,
    tally: state.tally,
    journal: state.journal,
    measure: options.measureMemory !== false,
    match: singleRule(options.policy),
    db: options.db ?? target.spec.db,
    resume: state.resumeFrom,
    onUnmeasured: () => (state.unmeasured = true),
    onProgress: progress(options, state.tally),
  });
}

/** The dry run: inspected records (type, TTL, bytes), the plan counted from them. */
async function walkForPlan(target: Target, options: FixOptions, state: RunState): Promise<Walk> {
  const { tally } = state;
  const run = await scanRecords(target, {
    ...scanOptions(target, options),
    match: singleRule(options.policy),
    onBatch(records) {
      for (const r of records) {
        const d = decideKey(r, tally.matcher.match(r.key), options);
        tally.plan(r, d);
        if (d.action === 'shorten') tally.outcome(d, true, true);
      }
    },
    onProgress: progress(options, tally),
  });
  if (options.measureMemory === false || run.nodes.some((n) => !n.measuresMemory)) state.unmeasured = true;
  return run;
}

/**
 * --apply where this user may not run scripts: a keys-only SCAN walk, rules matched here,
 * and every key a rule gives a TTL sent through the node's NodeWriter (pipelined PEXPIRE … NX).
 */
async function walkWithWriters(target: Target, options: FixOptions, state: RunState, conns: Map<string, Redis>, brakes: Map<string, ReplicaLagBrake>): Promise<Walk> {
  const { tally, journal } = state;
  const measure = options.measureMemory !== false;
  const writers = new Map<string, NodeWriter>();
  for (const [address, conn] of conns) {
    writers.set(
      address,
      new NodeWriter(address, conn, {
        mode: target.mode,
        tally,
        journal,
        brake: brakes.get(address),
        measure,
        maxTtlMs: options.maxTtlMs,
        fast: options.fast,
        maxOps: options.maxOps,
        beforeWrite: options.beforeWrite,
        onUnmeasured: () => (state.unmeasured = true),
      }),
    );
  }
  async function onBatch(records: KeyRecord[], cp: NodeCheckpoint): Promise<void> {
    const group: WriteGroup = { keys: [], ttls: [], decisions: [] };
    for (const r of records) {
      const d = decideKey(r, tally.matcher.match(r.key), options);
      tally.plan(r, d);
      if (d.action !== 'expire') continue;
      group.keys.push(r.key);
      group.ttls.push(d.ttlMs);
      group.decisions.push(d);
    }
    const writer = writers.get(cp.node) as NodeWriter;
    if (group.keys.length === 0) await writer.idle(cp);
    else await writer.add(group, cp);
  }
  const run = await scanRecords(target, {
    ...scanOptions(target, options),
    match: singleRule(options.policy),
    // Apply reads nothing before writing: the NX reply says whether a key had a TTL.
    inspect: false,
    // A keys-only walk is paced from SCAN's round trip, which on a busy host is mostly
    // queueing: aimed at the default 0.5 ms it gives pages of a few dozen keys whose SCAN
    // costs ~0.05 ms of server time. Aiming the round trip at 2 ms gives SCAN calls of
    // ~0.4 ms server time (INFO commandstats, bench:fix), still under the guard's budget.
    ...(!options.fast && options.targetCallMs === undefined ? { targetCallMs: KEYS_ONLY_SCAN_MS } : {}),
    resume: state.resumeFrom,
    onBatch,
    onProgress: progress(options, tally),
  }).catch(async (err: unknown) => {
    await Promise.all([...writers.values()].map((w) => w.settle()));
    throw err;
  });
  // Complete or stopped (Ctrl-C): write what is gathered, so its checkpoint is journaled.
  for (const w of writers.values()) await w.finish();
  return run;
}

function scanOptions(target: Target, options: FixOptions): ScanOptions {
  return {
    fast: options.fast,
    maxOps: options.maxOps,
    targetP99Ms: options.targetP99Ms,
    targetCallMs: options.targetCallMs,
    maxCallMs: options.maxCallMs,
    initialBatch: options.initialBatch,
    db: options.db ?? target.spec.db,
    measureMemory: options.measureMemory,
    signal: options.signal,
  };
}

/** One non-durable rule: SCAN MATCH filters on the server (unmatched keys are never touched anyway). */
function singleRule(policy: Policy): string | undefined {
  return policy.rules.length === 1 && policy.rules[0].role !== 'durable' ? policy.rules[0].match : undefined;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
