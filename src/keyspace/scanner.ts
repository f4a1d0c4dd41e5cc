/**
 * The live source of KeyRecords: walks every selected node and database with SCAN (never
 * KEYS), in bounded, paced steps, all nodes in parallel (`walkNode` each, walk/, with read
 * steps, steps/). Consumers receive batches through `onBatch` (awaited, so a slow consumer
 * such as `fix` applies back-pressure) together with a checkpoint from which a later run can
 * resume.
 */
import { ConnectionError, type KeywardenError } from '../errors.js';
import type { Target } from '../target/connect.js';
import { permissionFailure } from '../target/errors.js';
import { samplePlan, seededRandom } from './walk/cursor.js';
import { createInspector, keysOnly, type InspectMethod } from './steps/inspect.js';
import type { ScanReport } from './report.js';
import type { NodeWalkResult } from './walk/node-walk.js';
import { ReadSteps, type ReadStepOptions } from './steps/read-steps.js';
import { walkTarget, type RunOptions } from './walk/run.js';

export type { NodeCheckpoint } from './walk/node-walk.js';
export type { ScanProgress } from './walk/run.js';

export interface ScanOptions extends RunOptions, Pick<ReadStepOptions, 'match' | 'type' | 'onBatch'> {
  /** Read a share of the keyspace: `{ fraction: 0.01 }` or `{ keys: 10000 }` (spread over the table). */
  sample?: { fraction: number } | { keys: number };
  /** Place the sample's stretches from this seed instead of at random: the same keys on every run (see `seededRandom`). */
  sampleSeed?: number;
  /** Default true; false skips MEMORY USAGE (bytes become unmeasured). */
  measureMemory?: boolean;
  /** Default true; false yields keys only (type 'unknown', ttlMs TTL_UNKNOWN): SCAN and nothing else. */
  inspect?: boolean;
  /**
   * Read each table as this many stretches side by side (Lua inspection only), each with
   * one call in flight, so the server never waits on this client; each call gets its share
   * of the call budget, so another client waits behind no more of our work. Default 1. With more,
   * checkpoints stay at the table's start (a cursor of one lane says nothing of the others):
   * consumers that resume (fix, watch) keep 1.
   */
  lanes?: number;
}

export interface NodeScanResult extends Omit<NodeWalkResult, 'error'> {
  vanished: number;
  method: InspectMethod;
  measuresMemory: boolean;
}

/**
 * A node failed mid-scan (stopped answering, dropped the connection, refused): the message
 * and hint are that node's, `run` holds what every node had read by then, the other nodes
 * stopped after their call in flight, and `partial` (from `scanKeyspace`) the report of it.
 */
export class ScanFailedError extends ConnectionError {
  declare partial?: ScanReport;

  constructor(
    failure: KeywardenError,
    readonly run: ScanRun,
    partial?: ScanReport,
  ) {
    super(failure.message, failure.hint, { cause: failure });
    if (partial) this.partial = partial;
  }
}

export interface ScanRun {
  nodes: NodeScanResult[];
  sampleFraction: number;
  interrupted?: string;
  durationMs: number;
  /** The first node that failed mid-scan (set only then): `scanRecords` throws it. */
  failure?: KeywardenError;
}

/**
 * Scan every node of the target in parallel, streaming KeyRecords to `onBatch`.
 * @throws ScanFailedError (a ConnectionError naming the node, with the partial run) when one
 * stops answering, drops the connection or refuses mid-scan; ConnectionError or
 * PermissionError when a node fails before its walk starts.
 */
export async function scanRecords(target: Target, options: ScanOptions = {}): Promise<ScanRun> {
  const run = await readRecords(target, options);
  if (run.failure) throw new ScanFailedError(run.failure, run);
  return run;
}

/** `scanRecords`, a node failing mid-scan returned in `failure` instead of thrown. */
export async function readRecords(target: Target, options: ScanOptions = {}): Promise<ScanRun> {
  let fraction = 1;
  const lanes = Math.max(1, Math.floor(options.lanes ?? 1));
  const run = await walkTarget(target, options, (plans) => {
    const total = plans.reduce((s, p) => s + p.dbsize, 0);
    fraction = sampleFraction(options.sample, total);
    return {
      expected: Math.round(total * fraction),
      async steps(plan) {
        const inspector =
          options.inspect === false
            ? keysOnly
            : await createInspector(plan.node.client, options.measureMemory ?? true).catch((err) => {
                throw permissionFailure(err, plan.node.address) ?? err;
              });
        // Small tables have fewer buckets than strata; below this size a sample saves nothing.
        const random = options.sampleSeed === undefined ? Math.random : seededRandom(options.sampleSeed);
        const sample = fraction < 1 && plan.dbsize > 20_000 ? samplePlan(fraction, undefined, random) : undefined;
        return new ReadSteps(inspector, { match: options.match, type: options.type, fast: options.fast, lanes, sample, onBatch: options.onBatch });
      },
    };
  });
  const nodes = run.nodes.map(({ steps, error: _error, ...n }): NodeScanResult => ({
    ...n,
    vanished: steps.vanished,
    method: steps.inspector.method,
    measuresMemory: steps.inspector.measuresMemory,
  }));
  const failure = nodes.find((n) => n.failure)?.failure;
  return { nodes, sampleFraction: fraction, interrupted: run.interrupted, durationMs: run.durationMs, ...(failure ? { failure } : {}) };
}

function sampleFraction(sample: ScanOptions['sample'], total: number): number {
  if (!sample) return 1;
  const f = 'fraction' in sample ? sample.fraction : total > 0 ? sample.keys / total : 1;
  return Math.min(Math.max(f, 0), 1);
}
