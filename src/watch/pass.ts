/**
 * One background pass over the keyspace, resumable. The scanner (`walkNode` with read steps
 * per node, keyspace/walk/) streams batches into one Aggregator per node; every
 * `checkpointIntervalMs` those chunks are folded into plain per-pattern figures and written
 * to the state file together with each node's cursor, so a restart (or a reconnect) resumes
 * from the last checkpoint and loses at most one chunk of work. A completed pass atomically
 * replaces the published figures.
 */
import { Aggregator } from '../keyspace/aggregate.js';
import type { KeyRecord } from '../keyspace/record.js';
import { scanRecords, type NodeCheckpoint } from '../keyspace/scanner.js';
import type { Policy } from '../policy/index.js';
import type { Target } from '../target/connect.js';
import { parseInfo } from '../target/info.js';
import { isPermissionDenied } from '../target/errors.js';
import { boundPerNode, foldChunk, mergeFigures, OTHER_PATTERN } from './figures.js';
import type { WatchLogger } from './log.js';
import { PATTERN_HISTORY_LIMIT, pushBounded, type LiveState, type NodeProgress, type PassProgress, type PersistedState } from './state.js';

/** Patterns an Aggregator keeps per chunk; the published figures are bounded again to `top`. */
const CHUNK_MAX_PATTERNS = 200;

export interface PassContext {
  target: Target;
  state: PersistedState;
  live: LiveState;
  policy?: Policy;
  scan: { maxOps?: number; fast?: boolean; db?: number };
  checkpointIntervalMs: number;
  top: number;
  signal: AbortSignal;
  log: WatchLogger;
  save(): Promise<void>;
  /** Called with every batch (after aggregation): enforcement hooks in here. */
  onRecords?(records: KeyRecord[]): Promise<void>;
}

/** Run (or resume) a pass. Resolves 'complete' or 'stopped'; rejects when the connection fails (after saving). */
export async function runPass(ctx: PassContext): Promise<'complete' | 'stopped'> {
  const { state, live } = ctx;
  const pass = await preparePass(ctx);
  const chunks = new Map<string, Aggregator>();
  const chunkFor = (node: string) => {
    let agg = chunks.get(node);
    if (!agg) chunks.set(node, (agg = new Aggregator({ policy: ctx.policy, maxPatterns: CHUNK_MAX_PATTERNS })));
    return agg;
  };
  const fold = () => {
    for (const [node, agg] of chunks) {
      const progress = pass.nodes[node];
      if (progress && agg.keysSeen > 0) progress.figures = foldChunk(progress.figures, agg.finish());
    }
    chunks.clear();
  };
  let scanStarted = performance.now();
  const accountTime = () => {
    const now = performance.now();
    pass.scanMs += now - scanStarted;
    scanStarted = now;
  };
  const flush = async () => {
    fold();
    accountTime();
    await ctx.save();
  };
  const timer = setInterval(
    () => void flush().catch((err) => ctx.log.warn('cannot write the checkpoint', { error: (err as Error).message })),
    ctx.checkpointIntervalMs,
  );

  live.scanning = true;
  live.passKeysSeen = Object.values(pass.nodes).reduce((s, n) => s + n.keysSeen, 0);
  try {
    const run = await scanRecords(ctx.target, {
      db: ctx.scan.db,
      maxOps: ctx.scan.maxOps,
      fast: ctx.scan.fast,
      signal: ctx.signal,
      resume: Object.values(pass.nodes).flatMap((n) => (n.checkpoint ? [n.checkpoint] : [])),
      onProgress: (p) => (live.progressRatio = p.ratio),
      onBatch: async (records, checkpoint) => {
        chunkFor(checkpoint.node).add(records);
        const progress = pass.nodes[checkpoint.node];
        progress.checkpoint = afterStep(checkpoint);
        progress.keysSeen += records.length;
        live.passKeysSeen += records.length;
        if (ctx.onRecords) await ctx.onRecords(records);
      },
    });
    clearInterval(timer);
    fold();
    accountTime();
    for (const n of run.nodes) if (pass.nodes[n.address]) pass.nodes[n.address].checkpoint = n.checkpoint;
    if (!run.nodes.every((n) => n.complete)) {
      await ctx.save();
      return 'stopped';
    }
    publish(state, pass, ctx.top);
    live.progressRatio = 1;
    await ctx.save();
    return 'complete';
  } catch (err) {
    clearInterval(timer);
    await flush().catch(() => undefined);
    throw err;
  } finally {
    clearInterval(timer);
    live.scanning = false;
  }
}

/**
 * The checkpoint the scanner hands out after a step names the cursor of the *next* step;
 * cursor 0 there means the database is finished, which on resume would restart it. Point
 * at the next database instead.
 */
function afterStep(cp: NodeCheckpoint): NodeCheckpoint {
  return cp.cursor === '0' && !cp.done ? { node: cp.node, db: cp.db + 1, cursor: '0', done: false } : { ...cp };
}

/** Start a pass or take up the checkpointed one, dropping nodes that restarted or left. */
async function preparePass(ctx: PassContext): Promise<PassProgress> {
  const pass: PassProgress = (ctx.state.pass ??= { startedAt: Date.now(), scanMs: 0, nodes: {} });
  // A user who may not run INFO can still be scanned: without run_id a restart mid-pass goes
  // unnoticed (the checkpoint's cursor is then only approximately right).
  const runIds = await Promise.all(
    ctx.target.nodes.map(
      async (n) => parseInfo(await n.client.info('server').catch((err: unknown) => (isPermissionDenied(err) ? '' : Promise.reject(err)))).run_id ?? '',
    ),
  );
  const current = new Set(ctx.target.nodes.map((n) => n.address));
  for (const address of Object.keys(pass.nodes)) {
    if (!current.has(address)) {
      ctx.log.info('node left the target; its part of the pass is dropped', { node: address });
      delete pass.nodes[address];
    }
  }
  ctx.target.nodes.forEach((node, i) => {
    const old = pass.nodes[node.address];
    if (old && old.runId !== runIds[i]) {
      ctx.log.warn('server restarted during the pass; rescanning this node from the start', { node: node.address });
    }
    if (!old || old.runId !== runIds[i]) pass.nodes[node.address] = { runId: runIds[i], keysSeen: 0, figures: [] } satisfies NodeProgress;
    else if (old.checkpoint)
      ctx.log.info('resuming the pass from the checkpoint', {
        node: node.address,
        db: old.checkpoint.db,
        cursor: old.checkpoint.cursor,
        keysSeen: old.keysSeen,
      });
  });
  return pass;
}

function publish(state: PersistedState, pass: PassProgress, top: number): void {
  const nodes = Object.fromEntries(Object.entries(pass.nodes).map(([addr, n]) => [addr, n.figures]));
  const bounded = boundPerNode(nodes, top);
  const keysSeen = Object.values(pass.nodes).reduce((s, n) => s + n.keysSeen, 0);
  state.published = { startedAt: pass.startedAt, completedAt: Date.now(), durationMs: Math.round(pass.scanMs), keysSeen, nodes: bounded };
  const noTtl: Record<string, number> = {};
  for (const f of mergeFigures(Object.values(bounded))) if (f.pattern !== OTHER_PATTERN) noTtl[f.pattern] = f.noTtlKeys;
  pushBounded(state.patternHistory, { t: state.published.completedAt, noTtl }, PATTERN_HISTORY_LIMIT);
  state.passes++;
  delete state.pass;
}
