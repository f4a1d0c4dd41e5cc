/**
 * The work on one node (`onNode`): pacing against the latency target (with the probe),
 * stopping, and the failure that ends it with what was done kept; undo runs its queue of keys
 * per node on it. The walk of one node (`walkNode`) adds the databases to visit, SELECT, where
 * a resumed walk continues, progress and the checkpoint. What one step reads or writes is the
 * `WalkSteps` strategy's: reading and inspecting keys (scan, watch, fix's dry run:
 * keyspace/steps/) or reading and writing them (fix --apply: src/fix/write-steps.ts).
 */
import type { Redis } from 'ioredis';
import type { KeywardenError } from '../../errors.js';
import { openNodeConnection, type RedisNode, type Target } from '../../target/connect.js';
import { midRunFailure } from '../../target/errors.js';
import { parseInfo, parseKeyspace } from '../../target/info.js';
import { Pacer, type PaceOptions } from './pace.js';

export interface NodeCheckpoint {
  node: string;
  db: number;
  cursor: string;
  /** True once this node has no more keys to read. */
  done: boolean;
}

/** What a walk of one node visits: its databases and how many keys they hold. */
export interface NodePlan {
  node: RedisNode;
  dbs: number[];
  dbsize: number;
  /** Keys per db, to size SCAN steps so a sample stretch is not overshot. */
  sizes: Map<number, number>;
}

/** One node's walk as it goes: the step strategy reads and moves it. */
export interface WalkState {
  readonly address: string;
  /** The connection the walk SELECTs and steps on. */
  readonly conn: Redis;
  readonly pacer: Pacer;
  /** The run's stop (Ctrl-C, time budget, another node failed), or this node's own. */
  readonly stopped: AbortSignal;
  /** Every key before it is done (read, or written and answered). */
  checkpoint: NodeCheckpoint;
  keysSeen: number;
  /** End this node's walk (a step failed; the others see it through `stopped`). */
  stop(): void;
}

/** One database to walk. */
export interface DbWalk {
  db: number;
  /** Keys the table holds (INFO keyspace), to size steps. */
  tableKeys: number;
  /** Where a resumed walk continues in this database; undefined from its start. */
  from?: string;
  /** This node's walk continues an earlier run's (from a checkpoint). */
  resumed: boolean;
  /** A step is done: `keys` more keys read, `ratio` (0 to 1) of this database walked. */
  progress(keys: number, ratio: number): void;
}

/** What one step of a walk does with the keys: the strategy `walkNode` takes. */
export interface WalkSteps {
  /** Calls of ours in flight at once (the pacer shares its budget between them). Default 1. */
  readonly inFlight?: number;
  /** The connection the walk SELECTs and steps on; default the target's own connection to the node. */
  readonly conn?: Redis;
  /** Walk one database (already SELECTed); true when its end was reached, false when stopped. */
  walkDb(walk: WalkState, db: DbWalk): Promise<boolean>;
  /** The walk is over (complete, stopped or failed): settle and record what is in flight. */
  close?(walk: WalkState): void | Promise<void>;
}

export interface NodeWalkResult {
  address: string;
  role: RedisNode['role'];
  dbs: number[];
  dbsize: number;
  keysSeen: number;
  complete: boolean;
  checkpoint: NodeCheckpoint;
  /** Why this node's walk ended early: it stopped answering, dropped or refused (set only then). */
  failure?: KeywardenError;
  /** The error itself, as the server or the client said it (set with `failure`). */
  error?: unknown;
}

/** What the per-node lifecycle takes: the pacing (with the calls in flight), the run's stop, and the connection to step on. */
export interface NodeOptions extends PaceOptions, Pick<WalkSteps, 'conn'> {
  signal: AbortSignal;
}

/** How one node's work ended: its state, and the failure that ended it early (set only then). */
export interface NodeOutcome extends Pick<NodeWalkResult, 'failure' | 'error'> {
  walk: WalkState;
}

/**
 * The life of one node's work, whatever the work is (a walk of its databases, undo's queue of
 * keys): the pacer and its latency probe, the stop (the run's, or this node's own), and a
 * failure the server or network causes, returned with the state reached instead of thrown
 * (`settle` runs first, to record what is in flight). Anything else is a bug and propagates.
 */
export async function onNode(
  target: Target,
  node: RedisNode,
  options: NodeOptions,
  work: (walk: WalkState) => Promise<void>,
  settle?: (walk: WalkState) => unknown,
): Promise<NodeOutcome> {
  const pacer = new Pacer(options);
  const probe = options.fast ? undefined : await openNodeConnection(target, node).catch(() => undefined);
  if (probe) pacer.watch(probe);
  const own = new AbortController();
  const stop = () => own.abort();
  options.signal.addEventListener('abort', stop, { once: true });
  if (options.signal.aborted) stop();
  const walk: WalkState = {
    address: node.address,
    conn: options.conn ?? node.client,
    pacer,
    stopped: own.signal,
    checkpoint: { node: node.address, db: 0, cursor: '0', done: false },
    keysSeen: 0,
    stop,
  };
  try {
    await work(walk);
    return { walk };
  } catch (err) {
    await Promise.resolve(settle?.(walk)).catch(() => undefined);
    const failure = midRunFailure(err, node.address, target.spec.replyTimeoutMs);
    if (!failure) throw err;
    return { walk, failure, error: err };
  } finally {
    options.signal.removeEventListener('abort', stop);
    pacer.stop();
    probe?.disconnect();
  }
}

export interface NodeWalkOptions extends NodeOptions {
  /** Where an earlier run stopped on this node. */
  resume?: NodeCheckpoint;
  /** Keys seen on this node so far, and the fraction of its walk done. */
  onProgress(keysSeen: number, ratio: number): void;
}

/** Walk one node's databases with `steps` (`onNode` plus the databases and the cursor). A failure the server or network causes is returned in the result, not thrown. */
export async function walkNode(target: Target, plan: NodePlan, steps: WalkSteps, options: NodeWalkOptions): Promise<NodeWalkResult> {
  const { node, dbs } = plan;
  const { resume } = options;
  let complete = false;
  const walkDbs = async (walk: WalkState): Promise<boolean> => {
    for (const [index, db] of dbs.entries()) {
      if (resume && (resume.done || db < resume.db)) continue;
      if (target.mode === 'standalone') await walk.conn.select(db);
      const finished = await steps.walkDb(walk, {
        db,
        tableKeys: plan.sizes.get(db) ?? plan.dbsize,
        from: resume && db === resume.db ? resume.cursor : undefined,
        resumed: resume !== undefined,
        progress(keys, ratio) {
          walk.keysSeen += keys;
          options.onProgress(walk.keysSeen, (index + ratio) / dbs.length);
        },
      });
      if (!finished) return false;
    }
    return true;
  };
  const { walk, ...failed } = await onNode(
    target,
    node,
    { ...options, inFlight: steps.inFlight ?? 1, conn: steps.conn },
    async (w) => {
      w.checkpoint.db = dbs[0];
      complete = await walkDbs(w);
      if (complete) w.checkpoint = { node: node.address, db: dbs[dbs.length - 1], cursor: '0', done: true };
      await steps.close?.(w);
      if (complete) options.onProgress(w.keysSeen, 1);
    },
    (w) => steps.close?.(w),
  );
  // Keep what was done: the caller reports it with the failure.
  return { address: node.address, role: node.role, dbs, dbsize: plan.dbsize, keysSeen: walk.keysSeen, complete, checkpoint: walk.checkpoint, ...failed };
}

/** The databases to walk on a node (from INFO keyspace) and how many keys they hold. */
export async function planNode(node: RedisNode, db: number | undefined): Promise<NodePlan> {
  let keyspace = new Map<number, { keys: number; expires: number }>();
  try {
    keyspace = parseKeyspace(parseInfo(await node.client.info('keyspace')));
  } catch {
    // No INFO permission: fall back to DBSIZE of db 0 (or the requested db) below.
  }
  let dbs = db !== undefined ? [db] : [...keyspace.keys()].sort((a, b) => a - b);
  if (dbs.length === 0) dbs = [db ?? 0];
  let dbsize = dbs.reduce((s, d) => s + (keyspace.get(d)?.keys ?? 0), 0);
  if (keyspace.size === 0) dbsize = await node.client.dbsize().catch(() => 0);
  const sizes = new Map(dbs.map((d) => [d, keyspace.get(d)?.keys ?? dbsize]));
  return { node, dbs, dbsize, sizes };
}
