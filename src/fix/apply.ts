/**
 * `planFix` / `applyFix`: stream KeyRecords from the live scanner, decide each key against
 * the policy, and (with apply) give the keys that need one a TTL, batch by batch, while the
 * scanner waits (back-pressure). Writes are `PEXPIRE … NX` (and `… LT` for `maxTtlMs`)
 * only; every batch is journaled before it is sent, with a checkpoint after it is answered.
 */
import { existsSync } from 'node:fs';
import { KeywardenError, UsageError } from '../errors.js';
import type { KeyRecord } from '../keyspace/record.js';
import { scanRecords, type NodeCheckpoint, type ScanProgress } from '../keyspace/scanner.js';
import type { PaceOptions } from '../keyspace/pace.js';
import { formatDuration, type Policy } from '../policy/index.js';
import type { Target } from '../target/connect.js';
import { connectionFailure } from '../target/errors.js';
import { ambientP99 } from './ambient.js';
import { FixInterruptedError, UnsupportedServerError } from './errors.js';
import { JournalError, journalState, JournalWriter, type JournalStart } from './journal.js';
import { decideKey, FixTally, type KeyDecision } from './plan.js';
import { ReplicaLagBrake, type LagEvent } from './replica-lag.js';
import type { FixReport } from './types.js';
import { createTtlWriter, type TtlWriter, type WriteMode } from './writer.js';

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
const CHECKPOINT_EVERY_MS = 250;
const DEFAULT_TARGET_P99_MS = 1;

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

interface NodeState {
  writer: TtlWriter;
  /** The batch of writes still in flight, if any. */
  inflight?: Promise<void>;
  brake?: ReplicaLagBrake;
  lastJournalAt: number;
}

interface WriteGroup {
  mode: WriteMode;
  keys: Buffer[];
  ttls: number[];
  prev: number[];
  decisions: KeyDecision[];
}

async function runFix(target: Target, options: FixOptions, apply: boolean): Promise<FixReport> {
  if (apply) requireExpireNx(target);
  const tally = new FixTally(options.policy);
  const { journal, resumeFrom } = apply ? await openJournal(target, options) : { journal: undefined, resumeFrom: undefined };
  const nodes = new Map<string, NodeState>();
  const maxLag = options.maxReplicaLagMs ?? DEFAULT_MAX_REPLICA_LAG_MS;
  for (const node of target.nodes) {
    const brake =
      apply && maxLag > 0
        ? new ReplicaLagBrake(node.address, node.client, {
            maxLagMs: maxLag,
            signal: options.signal,
            onPause: (e) => options.onReplicaLag?.(e),
            onResume: (e) => options.onReplicaLag?.(e),
          })
        : undefined;
    nodes.set(node.address, { writer: createTtlWriter(node.client), brake, lastJournalAt: 0 });
  }

  async function onBatch(records: KeyRecord[], cp: NodeCheckpoint): Promise<void> {
    const nx: WriteGroup = { mode: 'NX', keys: [], ttls: [], prev: [], decisions: [] };
    const lt: WriteGroup = { mode: 'LT', keys: [], ttls: [], prev: [], decisions: [] };
    for (const r of records) {
      const d = decideKey(r, tally.matcher.match(r.key), options);
      tally.plan(r, d);
      if (d.action === 'skip') continue;
      const g = d.action === 'expire' ? nx : lt;
      g.keys.push(r.key);
      g.ttls.push(d.ttlMs);
      g.prev.push(r.ttlMs);
      g.decisions.push(d);
    }
    const state = nodes.get(cp.node) as NodeState;
    if (!apply) {
      for (const d of lt.decisions) tally.outcome(d, true, true);
      return;
    }
    const groups = [nx, lt].filter((g) => g.keys.length > 0);
    // One batch of writes stays in flight while the scanner reads the next one (same
    // connection, so the server still runs them in order, in the right database). It must be
    // answered before any later checkpoint is journaled.
    await state.inflight;
    if (groups.length === 0) {
      const now = performance.now();
      if (journal && now - state.lastJournalAt >= CHECKPOINT_EVERY_MS) {
        journal.write({ t: 'cp', cp });
        state.lastJournalAt = now;
      }
      return;
    }
    await state.brake?.wait();
    await options.beforeWrite?.(groups.flatMap((g) => g.keys));
    state.inflight = writeGroups(state, groups, cp);
    // Surfaced by the next await of `inflight`; never an unhandled rejection meanwhile.
    state.inflight.catch(() => undefined);
  }

  async function writeGroups(state: NodeState, groups: WriteGroup[], cp: NodeCheckpoint): Promise<void> {
    for (const [gi, g] of groups.entries()) {
      const b = journal?.nextBatch() ?? '';
      journal?.write({
        t: 'set',
        b,
        node: cp.node,
        db: cp.db,
        at: Date.now(),
        op: g.mode === 'NX' ? 'nx' : 'lt',
        keys: g.keys.map((k) => k.toString('base64')),
        ttlMs: g.ttls,
        ...(g.mode === 'LT' ? { prevTtlMs: g.prev } : {}),
      });
      const took = await state.writer.write(g.mode, g.keys, g.ttls);
      const refused: number[] = [];
      took.forEach((ok, i) => {
        tally.outcome(g.decisions[i], ok, false);
        if (!ok) refused.push(i);
      });
      journal?.write({ t: 'done', b, refused, ...(gi === groups.length - 1 ? { cp } : {}) });
    }
    state.lastJournalAt = performance.now();
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
      measureMemory: options.measureMemory,
      signal: options.signal,
      resume: resumeFrom,
      onBatch,
      onProgress: (p) => {
        const t = tally.totals(0, 0);
        options.onProgress?.({ ...p, needTtl: t.needTtl, applied: t.applied });
      },
    }).finally(() => Promise.allSettled([...nodes.values()].map((n) => n.inflight)));
    for (const n of nodes.values()) await n.inflight;
    const pauses = [...nodes.values()].reduce((s, n) => s + (n.brake?.pausedMs ?? 0), 0);
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
      ...(options.measureMemory === false || run.nodes.some((n) => !n.measuresMemory) ? { bytesUnmeasured: true } : {}),
    };
  } catch (err) {
    if (err instanceof KeywardenError) throw err;
    const failure = connectionFailure(err, target.spec.display);
    const applied = tally.totals(0, 0).applied;
    const hint = journal
      ? `progress is saved in ${journal.path}: once the server answers again, rerun the same command with --resume --journal ${journal.path}`
      : 'rerun the same command when the server answers again';
    throw new FixInterruptedError(`stopped after ${applied} TTLs set: ${failure.message}`, hint, { cause: err });
  } finally {
    journal?.close();
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

async function runIds(target: Target): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const node of target.nodes) {
    const id = await node.client.info('server').then((t) => /run_id:(\w+)/.exec(t)?.[1], () => undefined);
    if (id) ids[node.address] = id;
  }
  return ids;
}

function startLine(target: Target, options: FixOptions, resume: boolean, ids: Record<string, string>): JournalStart {
  return {
    t: 'start',
    v: 1,
    target: target.spec.display,
    mode: target.mode,
    policy: {
      ...(options.policy.file ? { file: options.policy.file } : {}),
      rules: options.policy.rules.map((r) => ({ match: r.match, ttlMs: r.ttlMs, role: r.role, jitter: r.jitter })),
    },
    ...(options.maxTtlMs !== undefined ? { maxTtlMs: options.maxTtlMs } : {}),
    runIds: ids,
    resume,
    at: new Date().toISOString(),
  };
}

async function openJournal(target: Target, options: FixOptions): Promise<{ journal?: JournalWriter; resumeFrom?: NodeCheckpoint[] }> {
  const path = options.journal;
  if (!path) {
    if (options.resume) throw new UsageError('--resume needs the journal of the run to continue', 'add --journal FILE (the file the interrupted run wrote)');
    return {};
  }
  if (!options.resume) {
    if (existsSync(path)) throw new JournalError(`journal ${path} already exists`, 'add --resume to continue that run, or choose a new --journal file');
    const journal = new JournalWriter(path, 1);
    journal.write(startLine(target, options, false, await runIds(target)));
    return { journal };
  }
  const state = await journalState(path);
  const first = state.first;
  if (!first) throw new JournalError(`journal ${path} holds no fix run`, 'give the --journal file that `keywarden fix --apply` wrote');
  const ids = await runIds(target);
  const now = startLine(target, options, true, ids);
  if (JSON.stringify(first.policy.rules) !== JSON.stringify(now.policy.rules) || first.maxTtlMs !== now.maxTtlMs) {
    throw new JournalError(`journal ${path} was written with a different policy`, 'resume with the same --policy (or --match/--ttl) and --max-ttl as the first run, or start a new --journal');
  }
  const known = new Set(target.nodes.map((n) => n.address));
  const strange = state.checkpoints.find((c) => !known.has(c.node));
  if (strange) throw new JournalError(`journal ${path} has progress for ${strange.node}, which is not a node of ${target.spec.display}`, 'resume against the same server or cluster as the first run');
  const journal = new JournalWriter(path, state.runs + 1);
  journal.write(now);
  // A SCAN cursor only means something to the server process that issued it: after a
  // restart or failover (another run_id) that node is walked again from the start; keys
  // already fixed have a TTL now, so this costs reads, not repeated writes.
  const valid = state.checkpoints.filter((c) => c.runId === undefined || c.runId === ids[c.node]);
  options.onResume?.({ nodes: valid.length, restarted: state.checkpoints.filter((c) => !valid.includes(c)).map((c) => c.node) });
  // Cursor 0 after a step means that database was walked to the end: continue with the next one.
  const resumeFrom = valid.map(({ runId: _runId, ...c }) => (c.cursor === '0' && !c.done ? { ...c, db: c.db + 1 } : c));
  return { journal, resumeFrom };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
