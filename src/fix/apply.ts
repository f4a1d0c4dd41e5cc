/**
 * `planFix` / `applyFix`: stream KeyRecords from the live scanner, decide each key against
 * the policy, and (with apply) give the keys that need one a TTL, batch by batch, while the
 * scanner waits (back-pressure). The plan inspects every key (type, TTL, bytes); apply
 * reads nothing first: it walks keys only, matches rules here, and sends every key a rule
 * gives a TTL, letting the server's `PEXPIRE … NX` answer whether it had one (about the
 * server work per key of a bare EXPIRE pipe). Writes are `PEXPIRE … NX` (and `… LT` for
 * `maxTtlMs`) only; every batch is journaled before it is sent, with a checkpoint after it
 * is answered.
 */
import { KeywardenError } from '../errors.js';
import type { KeyRecord } from '../keyspace/record.js';
import { scanRecords, type NodeCheckpoint, type ScanProgress } from '../keyspace/scanner.js';
import type { PaceOptions } from '../keyspace/pace.js';
import { formatDuration, type Policy } from '../policy/index.js';
import { openNode, type Target } from '../target/connect.js';
import { connectionFailure } from '../target/errors.js';
import { ambientP99 } from './ambient.js';
import { FixInterruptedError, UnsupportedServerError } from './errors.js';
import type { JournalWriter } from './journal.js';
import { NodeWriter, type WriteGroup } from './node-writer.js';
import { decideKey, FixTally } from './plan.js';
import { ReplicaLagBrake, type LagEvent } from './replica-lag.js';
import { openJournal } from './resume.js';
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
  /** On --resume: how many nodes continue from a checkpoint, and which restarted since (walked again). */
  onResume?(info: { nodes: number; restarted: string[] }): void;
  /** Test seam: runs after the scan of a batch and before its writes. */
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
  if (apply) requireExpireNx(target);
  const tally = new FixTally(options.policy);
  const { journal, resumeFrom } = apply ? await openJournal(target, options) : { journal: undefined, resumeFrom: undefined };
  const measure = options.measureMemory !== false;
  let bytesUnmeasured = !measure;
  const writers = new Map<string, NodeWriter>();
  const brakes: ReplicaLagBrake[] = [];
  const maxLag = options.maxReplicaLagMs ?? DEFAULT_MAX_REPLICA_LAG_MS;
  try {
    if (apply) {
      for (const node of target.nodes) {
        const brake =
          maxLag > 0
            ? new ReplicaLagBrake(node.address, node.client, {
                maxLagMs: maxLag,
                signal: options.signal,
                onPause: (e) => options.onReplicaLag?.(e),
                onResume: (e) => options.onReplicaLag?.(e),
              })
            : undefined;
        if (brake) brakes.push(brake);
        const at = node.address.lastIndexOf(':');
        const conn = await openNode(target.spec, node.address.slice(0, at), Number(node.address.slice(at + 1)), node.address);
        writers.set(
          node.address,
          new NodeWriter(node.address, conn, {
            mode: target.mode,
            tally,
            journal,
            brake,
            measure,
            maxTtlMs: options.maxTtlMs,
            fast: options.fast,
            maxOps: options.maxOps,
            beforeWrite: options.beforeWrite,
            onUnmeasured: () => (bytesUnmeasured = true),
          }),
        );
      }
    }
    return await runScan(target, options, apply, { tally, journal, resumeFrom, writers, brakes, measure, unmeasured: () => bytesUnmeasured });
  } finally {
    for (const w of writers.values()) w.close();
    journal?.close();
  }
}

interface RunState {
  tally: FixTally;
  journal?: JournalWriter;
  resumeFrom?: NodeCheckpoint[];
  writers: Map<string, NodeWriter>;
  brakes: ReplicaLagBrake[];
  measure: boolean;
  unmeasured(): boolean;
}

async function runScan(target: Target, options: FixOptions, apply: boolean, state: RunState): Promise<FixReport> {
  const { tally, journal, resumeFrom, writers, measure } = state;

  // Dry run: the records are inspected (type, TTL, bytes) and the plan is counted from them.
  // Apply: keys only (SCAN and nothing else); every key a rule gives a TTL is sent, and the
  // reply to PEXPIRE … NX says whether it had one (NodeWriter).
  async function onBatch(records: KeyRecord[], cp: NodeCheckpoint): Promise<void> {
    const group: WriteGroup = { keys: [], ttls: [], decisions: [] };
    for (const r of records) {
      const d = decideKey(r, tally.matcher.match(r.key), options);
      tally.plan(r, d);
      if (d.action === 'shorten') tally.outcome(d, true, true);
      if (d.action !== 'expire') continue;
      group.keys.push(r.key);
      group.ttls.push(d.ttlMs);
      group.decisions.push(d);
    }
    if (!apply) return;
    const writer = writers.get(cp.node) as NodeWriter;
    if (group.keys.length === 0) await writer.idle(cp);
    else await writer.add(group, cp);
  }

  const started = performance.now();
  // Writes only: a dry run reads as gently as scan does. See ambient.ts.
  const ambient = apply && !options.fast && options.targetP99Ms === undefined ? await ambientP99(target) : undefined;
  const targetP99Ms = ambient !== undefined ? Math.max(DEFAULT_TARGET_P99_MS, ambient) : options.targetP99Ms;
  const single = options.policy.rules.length === 1 && options.policy.rules[0].role !== 'durable' ? options.policy.rules[0].match : undefined;
  try {
    const run = await scanRecords(target, {
      fast: options.fast,
      maxOps: options.maxOps,
      targetP99Ms,
      db: options.db ?? target.spec.db,
      // One rule: let SCAN MATCH filter on the server (unmatched keys are never touched anyway).
      match: single,
      // Apply reads nothing before writing: the NX reply says whether a key had a TTL.
      inspect: !apply,
      // A keys-only walk is paced from SCAN's round trip, which on a busy host is mostly
      // queueing: aimed at the default 0.5 ms it gives pages of a few dozen keys whose SCAN
      // costs ~0.05 ms of server time. Aiming the round trip at 2 ms gives SCAN calls of
      // ~0.4 ms server time (INFO commandstats, bench:fix), still under the guard's budget.
      ...(apply && !options.fast && options.targetCallMs === undefined ? { targetCallMs: KEYS_ONLY_SCAN_MS } : {}),
      measureMemory: options.measureMemory,
      signal: options.signal,
      resume: resumeFrom,
      onBatch,
      onProgress: (p) => {
        const t = tally.totals(0, 0);
        options.onProgress?.({ ...p, needTtl: t.needTtl, applied: t.applied });
      },
    }).catch(async (err: unknown) => {
      await Promise.all([...writers.values()].map((w) => w.settle()));
      throw err;
    });
    // Complete or stopped (Ctrl-C): write what is gathered, so its checkpoint is journaled.
    for (const w of writers.values()) await w.finish();
    const pauses = state.brakes.reduce((s, b) => s + b.pausedMs, 0);
    const totals = tally.totals(performance.now() - started, pauses);
    const complete = run.nodes.every((n) => n.complete);
    journal?.write(...run.nodes.filter((n) => n.complete).map((n) => ({ t: 'cp' as const, cp: n.checkpoint })), { t: 'end', complete, totals });
    return {
      kind: 'keywarden.fix',
      schemaVersion: 1,
      dryRun: !apply,
      target: { url: target.spec.display, mode: target.mode, nodes: target.nodes.map((n) => n.address) },
      policy: { ...(options.policy.file ? { file: options.policy.file } : {}), ...(options.maxTtlMs !== undefined ? { maxTtl: formatDuration(options.maxTtlMs) } : {}) },
      rules: tally.summaries(),
      totals,
      journal: journal?.path ?? null,
      ...(targetP99Ms !== undefined ? { guard: { targetP99Ms: round2(targetP99Ms), ...(ambient !== undefined ? { ambientP99Ms: round2(ambient) } : {}) } } : {}),
      resumed: resumeFrom !== undefined,
      complete,
      ...(run.interrupted ? { interrupted: run.interrupted } : {}),
      ...((apply ? state.unmeasured() : !measure || run.nodes.some((n) => !n.measuresMemory)) ? { bytesUnmeasured: true } : {}),
    };
  } catch (err) {
    if (err instanceof KeywardenError) throw err;
    const failure = connectionFailure(err, target.spec.display);
    const applied = tally.totals(0, 0).applied;
    const hint = journal
      ? `progress is saved in ${journal.path}: once the server answers again, rerun the same command with --resume --journal ${journal.path}`
      : 'rerun the same command when the server answers again';
    throw new FixInterruptedError(`stopped after ${applied} TTLs set: ${failure.message}`, hint, { cause: err });
  }
}

function requireExpireNx(target: Target): void {
  const major = Number(/^(\d+)\./.exec(target.redisVersion)?.[1]);
  if (Number.isFinite(major) && major < 7) {
    throw new UnsupportedServerError(
      `${target.spec.display} runs Redis ${target.redisVersion}: fix needs EXPIRE … NX, new in Redis 7.0`,
      'upgrade the server; fix will not fall back to TTL-then-EXPIRE, which races with the application',
    );
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
