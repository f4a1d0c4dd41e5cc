/**
 * A run over the whole target: one `walkNode` per node, all in parallel, with one stop (Ctrl-C,
 * time budget, or the first node that fails: the others stop after their call in flight) and
 * one progress figure summed over the nodes.
 */
import type { RedisNode, Target } from '../../target/connect.js';
import { midRunFailure } from '../../target/errors.js';
import { planNode, walkNode, type NodeCheckpoint, type NodePlan, type NodeWalkResult, type WalkSteps } from './node-walk.js';
import type { PaceOptions } from './pace.js';

export interface ScanProgress {
  keysSeen: number;
  /** DBSIZE summed over what is being scanned (the sample's share of it when sampling). */
  expected: number;
  /** Fraction of the planned walk done, from cursor positions: exact even when keys churn. */
  ratio: number;
  keysPerSecond: number;
}

export interface RunOptions extends PaceOptions {
  /** Only this database; default every database that has keys (always 0 on a cluster). */
  db?: number;
  /** Stop early (Ctrl-C, time budget): the result says it is incomplete. */
  signal?: AbortSignal;
  /** Stop after this many milliseconds. */
  deadlineMs?: number;
  /** Continue from checkpoints of an earlier run (per node address). */
  resume?: NodeCheckpoint[];
  onProgress?(progress: ScanProgress): void;
}

/** How each node is walked, once every node is planned. */
export interface RunPlan<S extends WalkSteps> {
  /** Keys the progress figure expects in all (default: the planned keys). */
  expected?: number;
  /** The step strategy of one node (a node that fails here fails the run before its walk starts). */
  steps(plan: NodePlan): Promise<S> | S;
}

export interface WalkRun<S extends WalkSteps> {
  nodes: Array<NodeWalkResult & { steps: S }>;
  interrupted?: string;
  durationMs: number;
}

/**
 * Walk every node of `target` in parallel with the steps `plan` gives each.
 * A node failing mid-walk is in its result (`failure`), and stops the others.
 * @throws the failure (ConnectionError, PermissionError) of a node that fails before its walk starts.
 */
export async function walkTarget<S extends WalkSteps>(target: Target, options: RunOptions, plan: (plans: NodePlan[]) => RunPlan<S>): Promise<WalkRun<S>> {
  const started = performance.now();
  const nodeFailure = (node: RedisNode) => (err: unknown) => {
    throw midRunFailure(err, node.address, target.spec.replyTimeoutMs) ?? err;
  };
  const plans = await Promise.all(target.nodes.map((node) => planNode(node, options.db).catch(nodeFailure(node))));
  const how = plan(plans);
  const stop = stopSignal(options);
  const progress = new ProgressTracker(plans.length, how.expected ?? plans.reduce((s, p) => s + p.dbsize, 0), options.onProgress);
  try {
    const settled = await Promise.allSettled(
      plans.map(async (p, i) => {
        try {
          const steps = await how.steps(p);
          const result = await walkNode(target, p, steps, {
            ...options,
            resume: options.resume?.find((c) => c.node === p.node.address),
            signal: stop.signal,
            onProgress: (seen, ratio) => progress.update(i, seen, ratio),
          });
          // One node failing ends the run: the others stop after their call in flight.
          if (result.failure) stop.abort(result.failure.message);
          return { ...result, steps };
        } catch (err) {
          stop.abort(`${p.node.address} failed`);
          return nodeFailure(p.node)(err);
        }
      }),
    );
    // Every node has settled (a failure stopped the others, which finished their calls in flight).
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const nodes = settled.map((s) => (s as PromiseFulfilledResult<NodeWalkResult & { steps: S }>).value);
    return { nodes, interrupted: stop.reason(), durationMs: performance.now() - started };
  } finally {
    stop.dispose();
  }
}

/** Sums per-node progress into one ScanProgress, reported at most every 100 ms (and at the end). */
class ProgressTracker {
  private readonly seen: number[];
  private readonly ratios: number[];
  private readonly started = performance.now();
  private last = 0;

  constructor(
    nodes: number,
    private readonly expected: number,
    private readonly listener?: (p: ScanProgress) => void,
  ) {
    this.seen = new Array<number>(nodes).fill(0);
    this.ratios = new Array<number>(nodes).fill(0);
  }

  update(node: number, seen: number, ratio: number): void {
    this.seen[node] = seen;
    this.ratios[node] = ratio;
    const now = performance.now();
    if (!this.listener || (now - this.last < 100 && ratio < 1)) return;
    this.last = now;
    const keysSeen = this.seen.reduce((a, b) => a + b, 0);
    this.listener({
      keysSeen,
      expected: this.expected,
      ratio: this.ratios.reduce((a, b) => a + b, 0) / this.ratios.length,
      keysPerSecond: keysSeen / Math.max((now - this.started) / 1000, 1e-3),
    });
  }
}

function stopSignal(options: RunOptions): { signal: AbortSignal; reason(): string | undefined; abort(reason: string): void; dispose(): void } {
  const controller = new AbortController();
  let why: string | undefined;
  const abort = (reason: string) => {
    why ??= reason;
    controller.abort();
  };
  const onAbort = () => abort('interrupted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const { deadlineMs } = options;
  const timer = deadlineMs !== undefined ? setTimeout(() => abort(`time budget of ${deadlineMs} ms reached`), deadlineMs) : undefined;
  const dispose = () => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  };
  return { signal: controller.signal, reason: () => why, abort, dispose };
}
