/**
 * Runs `fix --apply` by fix-step.lua on every node of the target in parallel (each master of
 * a cluster, every database of a standalone server), each node with its own step
 * connection, latency probe and replica-lag brake. When one node fails, the others stop
 * reading, finish the writes already journaled, and the first failure is thrown.
 */
import type { Redis } from 'ioredis';
import { ProgressTracker, splitAddress, type NodeCheckpoint, type ScanProgress } from '../keyspace/scanner.js';
import { openNode, type RedisNode, type Target } from '../target/connect.js';
import { parseInfo, parseKeyspace } from '../target/info.js';
import type { ReplicaLagBrake } from './replica-lag.js';
import { NodeStepper, type StepNodeResult, type StepWalkOptions } from './step-walk.js';

export interface StepRunOptions extends Omit<StepWalkOptions, 'signal'> {
  /** Only this database (standalone); default every database that has keys. */
  db?: number;
  resume?: NodeCheckpoint[];
  signal?: AbortSignal;
  onProgress?(progress: ScanProgress): void;
}

export interface StepRun {
  nodes: StepNodeResult[];
  interrupted?: string;
}

/** Walk and fix every node; `conns` and `brakes` are per node address. */
export async function applyBySteps(target: Target, conns: Map<string, Redis>, brakes: Map<string, ReplicaLagBrake>, options: StepRunOptions): Promise<StepRun> {
  const plans = await Promise.all(target.nodes.map((node) => databases(node, options.db)));
  const progress = new ProgressTracker(plans.length, plans.reduce((s, p) => s + p.keys, 0), options.onProgress);
  // Our own stop: Ctrl-C (the caller's signal) or a failure on another node.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const probes: Redis[] = [];
  try {
    const runs = target.nodes.map(async (node, i) => {
      const probe = options.fast ? undefined : await openNode(target.spec, ...splitAddress(node.address), node.address).catch(() => undefined);
      if (probe) probes.push(probe);
      const stepper = new NodeStepper(
        {
          address: node.address,
          conn: conns.get(node.address)!,
          probe,
          brake: brakes.get(node.address),
          dbs: plans[i].dbs,
          resume: options.resume?.find((c) => c.node === node.address),
          onProgress: (seen, ratio) => progress.update(i, seen, ratio),
        },
        { ...options, signal: stop.signal },
      );
      return stepper.run().catch((err: unknown) => {
        stop.abort();
        throw err;
      });
    });
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const nodes = settled.map((s) => (s as PromiseFulfilledResult<StepNodeResult>).value);
    return { nodes, ...(options.signal?.aborted ? { interrupted: 'interrupted' } : {}) };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    for (const p of probes) p.disconnect();
  }
}

/** The databases to walk on a node (from INFO keyspace) and how many keys they hold. */
async function databases(node: RedisNode, db: number | undefined): Promise<{ dbs: number[]; keys: number }> {
  let keyspace = new Map<number, { keys: number; expires: number }>();
  try {
    keyspace = parseKeyspace(parseInfo(await node.client.info('keyspace')));
  } catch {
    // No INFO permission: db 0 (or the one asked for), sized by DBSIZE.
  }
  let dbs = db !== undefined ? [db] : [...keyspace.keys()].sort((a, b) => a - b);
  if (dbs.length === 0) dbs = [db ?? 0];
  const keys = keyspace.size > 0 ? dbs.reduce((s, d) => s + (keyspace.get(d)?.keys ?? 0), 0) : await node.client.dbsize().catch(() => 0);
  return { dbs, keys };
}
