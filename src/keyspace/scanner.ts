/**
 * The live source of KeyRecords: walks every selected node and database with SCAN (never
 * KEYS), in bounded, paced steps, all nodes in parallel. Consumers receive batches through
 * `onBatch` (awaited, so a slow consumer such as `fix` applies back-pressure) together with
 * a checkpoint from which a later run can resume.
 */
import type { Redis } from 'ioredis';
import { ConnectionError, type KeywardenError } from '../errors.js';
import type { RedisNode, Target } from '../target/connect.js';
import { openNode } from '../target/connect.js';
import { midRunFailure, permissionFailure } from '../target/errors.js';
import { parseInfo, parseKeyspace } from '../target/info.js';
import { cursorAt, cursorPosition, samplePlan, seededRandom, type Stretch } from './cursor.js';
import { createInspector, keysOnly, type Inspection, type InspectMethod, type PageInspector, type ScriptInspector, type WalkStep } from './inspect.js';
import { Pacer, type PaceOptions } from './pace.js';
import type { KeyRecord } from './record.js';

export interface NodeCheckpoint {
  node: string;
  db: number;
  cursor: string;
  /** True once this node has no more keys to read. */
  done: boolean;
}

export interface ScanProgress {
  keysSeen: number;
  /** DBSIZE summed over what is being scanned (the sample's share of it when sampling). */
  expected: number;
  /** Fraction of the planned walk done, from cursor positions: exact even when keys churn. */
  ratio: number;
  keysPerSecond: number;
}

export interface ScanOptions extends PaceOptions {
  /** Only this database; default every database that has keys (always 0 on a cluster). */
  db?: number;
  match?: string;
  type?: string;
  /** Read a share of the keyspace: `{ fraction: 0.01 }` or `{ keys: 10000 }` (spread over the table). */
  sample?: { fraction: number } | { keys: number };
  /** Place the sample's stretches from this seed instead of at random: the same keys on every run (see `seededRandom`). */
  sampleSeed?: number;
  /** Default true; false skips MEMORY USAGE (bytes become unmeasured). */
  measureMemory?: boolean;
  /** Default true; false yields keys only (type 'unknown', ttlMs TTL_UNKNOWN): SCAN and nothing else. */
  inspect?: boolean;
  /** Stop early (Ctrl-C, time budget): the result says it is incomplete. */
  signal?: AbortSignal;
  /** Stop after this many milliseconds. */
  deadlineMs?: number;
  /**
   * Read each table as this many stretches side by side (Lua inspection only), each with
   * one call in flight, so the server never waits on this client; each call gets its share
   * of the call budget, so another client waits behind no more of our work. Default 1. With more,
   * checkpoints stay at the table's start (a cursor of one lane says nothing of the others):
   * consumers that resume (fix, watch) keep 1.
   */
  lanes?: number;
  /** Continue from checkpoints of an earlier run (per node address). */
  resume?: NodeCheckpoint[];
  onBatch?(records: KeyRecord[], checkpoint: NodeCheckpoint): void | Promise<void>;
  onProgress?(progress: ScanProgress): void;
}

export interface NodeScanResult {
  address: string;
  role: RedisNode['role'];
  dbs: number[];
  dbsize: number;
  keysSeen: number;
  vanished: number;
  complete: boolean;
  method: InspectMethod;
  measuresMemory: boolean;
  checkpoint: NodeCheckpoint;
  /** Why this node's walk ended early: it stopped answering, dropped or refused (set only then). */
  failure?: KeywardenError;
}

/**
 * A node failed mid-scan (stopped answering, dropped the connection, refused): the message
 * and hint are that node's, and `run` holds what every node had read by then, the other
 * nodes stopped after their call in flight.
 */
export class ScanFailedError extends ConnectionError {
  constructor(
    failure: KeywardenError,
    readonly run: ScanRun,
  ) {
    super(failure.message, failure.hint, { cause: failure });
  }
}

export interface ScanRun {
  nodes: NodeScanResult[];
  sampleFraction: number;
  interrupted?: string;
  durationMs: number;
}

/**
 * Scan every node of the target in parallel, streaming KeyRecords to `onBatch`.
 * @throws ScanFailedError (a ConnectionError naming the node, with the partial run) when one
 * stops answering, drops the connection or refuses mid-scan; ConnectionError or
 * PermissionError when a node fails before its walk starts.
 */
export async function scanRecords(target: Target, options: ScanOptions = {}): Promise<ScanRun> {
  const started = performance.now();
  const nodeFailure = (node: RedisNode) => (err: unknown) => {
    throw midRunFailure(err, node.address, target.spec.replyTimeoutMs) ?? err;
  };
  const plans = await Promise.all(target.nodes.map((node) => planNode(node, options).catch(nodeFailure(node))));
  const total = plans.reduce((s, p) => s + p.dbsize, 0);
  const fraction = sampleFraction(options.sample, total);
  const stop = stopSignal(options);
  const progress = new ProgressTracker(plans.length, Math.round(total * fraction), options.onProgress);

  try {
    const nodes = await Promise.all(
      plans.map((plan, i) =>
        scanNode(target, plan, { ...options, signal: stop.signal }, fraction, (seen, ratio) => progress.update(i, seen, ratio))
          .catch((err: unknown) => {
            stop.abort(`${plan.node.address} failed`);
            return nodeFailure(plan.node)(err);
          })
          .then((result) => {
            // One node failing ends the scan: the others stop after their call in flight.
            if (result.failure) stop.abort(result.failure.message);
            return result;
          }),
      ),
    );
    const run: ScanRun = { nodes, sampleFraction: fraction, interrupted: stop.reason(), durationMs: performance.now() - started };
    const failed = nodes.find((n) => n.failure)?.failure;
    if (failed) throw new ScanFailedError(failed, run);
    return run;
  } finally {
    stop.dispose();
  }
}

interface NodePlan {
  node: RedisNode;
  dbs: number[];
  dbsize: number;
  /** Keys per db, to size SCAN steps so a sample stretch is not overshot. */
  sizes: Map<number, number>;
}

async function planNode(node: RedisNode, options: ScanOptions): Promise<NodePlan> {
  let keyspace = new Map<number, { keys: number; expires: number }>();
  try {
    keyspace = parseKeyspace(parseInfo(await node.client.info('keyspace')));
  } catch {
    // No INFO permission: fall back to DBSIZE of db 0 (or the requested db) below.
  }
  let dbs = options.db !== undefined ? [options.db] : [...keyspace.keys()].sort((a, b) => a - b);
  if (dbs.length === 0) dbs = [options.db ?? 0];
  let dbsize = dbs.reduce((s, db) => s + (keyspace.get(db)?.keys ?? 0), 0);
  if (keyspace.size === 0) dbsize = await node.client.dbsize().catch(() => 0);
  const sizes = new Map(dbs.map((db) => [db, keyspace.get(db)?.keys ?? dbsize]));
  return { node, dbs, dbsize, sizes };
}

function sampleFraction(sample: ScanOptions['sample'], total: number): number {
  if (!sample) return 1;
  const f = 'fraction' in sample ? sample.fraction : total > 0 ? sample.keys / total : 1;
  return Math.min(Math.max(f, 0), 1);
}

async function scanNode(
  target: Target,
  plan: NodePlan,
  options: ScanOptions,
  fraction: number,
  report: (seen: number, ratio: number) => void,
): Promise<NodeScanResult> {
  const { node } = plan;
  const client = node.client;
  const inspector =
    options.inspect === false
      ? keysOnly
      : await createInspector(client, options.measureMemory ?? true).catch((err) => {
          throw permissionFailure(err, node.address) ?? err;
        });
  const lanes = Math.max(1, Math.floor(options.lanes ?? 1));
  const pacer = new Pacer({ ...options, inFlight: lanes });
  const probe = options.fast ? undefined : await openProbe(target, node);
  if (probe) pacer.watch(probe);

  const resume = options.resume?.find((c) => c.node === node.address);
  const result: NodeScanResult = {
    address: node.address,
    role: node.role,
    dbs: plan.dbs,
    dbsize: plan.dbsize,
    keysSeen: 0,
    vanished: 0,
    complete: false,
    method: inspector.method,
    measuresMemory: inspector.measuresMemory,
    checkpoint: { node: node.address, db: plan.dbs[0], cursor: '0', done: false },
  };
  // Lanes stop on the run's signal, or when a sibling lane fails (the node's walk is over).
  const lanesStop = new AbortController();
  const stopLanes = () => lanesStop.abort();
  options.signal?.addEventListener('abort', stopLanes, { once: true });
  if (options.signal?.aborted) stopLanes();
  const stopped = lanesStop.signal;
  // Small tables have fewer buckets than strata; below this size a sample saves nothing.
  const sampling = fraction < 1 && plan.dbsize > 20_000;
  const stretches = sampling ? samplePlan(fraction, undefined, options.sampleSeed === undefined ? Math.random : seededRandom(options.sampleSeed)) : [{ start: 0, end: 1 }];

  try {
    for (const [dbIndex, db] of plan.dbs.entries()) {
      if (resume && (db < resume.db || resume.done)) continue;
      if (target.mode === 'standalone') await client.select(db);
      const tableKeys = plan.sizes.get(db) ?? plan.dbsize;
      // Lanes: stretches read side by side (one call in flight each), so the server always
      // has the next call queued. A whole walk is split into `lanes` touching stretches; a
      // sample's strata are read `lanes` at a time. Not for tables a few calls cover, and
      // never when resuming (a checkpoint is one cursor).
      const laneCount = inspector.method === 'lua' && !resume && tableKeys >= MIN_LANE_KEYS ? lanes : 1;
      const groups = sampling ? chunks(stretches, laneCount) : laneCount > 1 ? [laneStretches(laneCount)] : [stretches];
      const done = new Array<number>(groups.flat().length).fill(0);
      let index = 0;
      for (const group of groups) {
        const first = index;
        index += group.length;
        const walks = await Promise.allSettled(
          group.map((stretch, gi) => {
            const si = first + gi;
            const from = resume && db === resume.db && si === 0 ? resume.cursor : undefined;
            return walkStretch(stretch, from, tableKeys, async (cursor, inspection) => {
              result.keysSeen += inspection.records.length;
              result.vanished += inspection.vanished;
              // With lanes a cursor no longer means "every key before it is done".
              if (laneCount === 1) result.checkpoint = { node: node.address, db, cursor, done: false };
              const records = inspection.records as KeyRecord[];
              for (const r of records) {
                r.db = db;
                r.node = node.address;
              }
              if (options.onBatch && records.length > 0) await options.onBatch(records, result.checkpoint);
              done[si] = cursor === '0' ? 1 : Math.min((cursorPosition(cursor) - stretch.start) / (stretch.end - stretch.start), 1);
              report(result.keysSeen, (dbIndex + done.reduce((a, b) => a + b, 0) / done.length) / plan.dbs.length);
            }).catch((err: unknown) => {
              stopLanes();
              throw err;
            });
          }),
        );
        // Every lane has settled, so nothing of this node is still being added when it returns.
        const failed = walks.find((w) => w.status === 'rejected');
        if (failed) throw failed.reason;
        if (!walks.every((w) => w.status === 'fulfilled' && w.value)) return result;
      }
    }
    result.complete = true;
    result.checkpoint = { node: node.address, db: plan.dbs[plan.dbs.length - 1], cursor: '0', done: true };
    report(result.keysSeen, 1);
    return result;
  } catch (err) {
    // Keep what was read: the caller reports it with the failure (anything unexpected is a bug and propagates).
    const failure = midRunFailure(err, node.address, target.spec.replyTimeoutMs);
    if (!failure) throw err;
    result.failure = failure;
    return result;
  } finally {
    options.signal?.removeEventListener('abort', stopLanes);
    pacer.stop();
    probe?.disconnect();
  }

  function walkStretch(
    stretch: Stretch,
    from: string | undefined,
    tableKeys: number,
    onStep: (cursor: string, inspection: Inspection) => Promise<void>,
  ): Promise<boolean> {
    const cursor = from ?? (stretch.start === 0 ? '0' : cursorAt(stretch.start));
    return inspector.method === 'lua' ? walkScripted(inspector, stretch, cursor, tableKeys, onStep) : walkPages(inspector, stretch, cursor, tableKeys, onStep);
  }

  /**
   * Walk one stretch with scan-inspect.lua: each call reads and inspects SCAN pages until
   * its time budget is spent, and returns where it stopped. One call is in flight at a
   * time, and the next is sent the moment a reply arrives, before that reply is decoded and
   * aggregated: the server idles only for a loopback round trip between calls, and another
   * client never waits behind more than one call of ours.
   */
  async function walkScripted(
    lua: ScriptInspector,
    stretch: Stretch,
    cursor: string,
    tableKeys: number,
    onStep: (cursor: string, inspection: Inspection) => Promise<void>,
  ): Promise<boolean> {
    const request = (from: string) => {
      const plan = pacer.nextCall('fill');
      const step = lua.walk({ cursor: from, ...plan, stopAt: stretch.end, tableKeys, match: options.match, type: options.type });
      return quiet(step.catch((err) => Promise.reject(permissionFailure(err, node.address) ?? err)));
    };
    let call: Promise<WalkStep> | undefined = request(cursor);
    let finished = false;
    while (call) {
      const step: WalkStep = await call;
      call = undefined;
      finished = step.next === '0' || (stretch.end < 1 && cursorPosition(step.next) >= stretch.end);
      // Cost per bucket asked for, not per key returned: a sparse --match returns few keys
      // from many buckets, and pacing by keys would shrink every call to one tiny page.
      pacer.record(step.serverMs, step.keys, step.scanned);
      if (!finished && !stopped.aborted) {
        await pacer.wait();
        call = request(step.next);
      }
      await onStep(step.next, step.decode());
    }
    return finished && !stopped.aborted;
  }

  /**
   * Walk one stretch reading SCAN pages here and inspecting each with `pages` (pipelined
   * commands, or nothing at all for a keys-only walk). Pages and their inspections are
   * pipelined: the next SCAN is sent as soon as a page arrives, and up to `depth`
   * inspections stay in flight. Pages are handed to `onStep` in SCAN order, so a checkpoint
   * cursor always means "every key before it is done".
   */
  async function walkPages(
    pages: PageInspector,
    stretch: Stretch,
    cursor: string,
    tableKeys: number,
    onStep: (cursor: string, inspection: Inspection) => Promise<void>,
  ): Promise<boolean> {
    const depth = options.fast ? 3 : 2;
    const pending: Array<{ next: string; scanned: number; sent: number; scanMs: number; inspection: Promise<Inspection> }> = [];
    let page: Promise<ScanPage> | undefined = scanPage(cursor, tableKeys, stretch);
    let finished = false;
    try {
      while (page) {
        if (stopped.aborted) break;
        const { next, keys, ms } = await page;
        finished = next === '0' || (stretch.end < 1 && cursorPosition(next) >= stretch.end);
        page = undefined;
        if (!finished) {
          await pacer.wait();
          page = scanPage(next, tableKeys, stretch);
        }
        if (keys.length > 0) pending.push({ next, scanned: keys.length, sent: performance.now(), scanMs: ms, inspection: quiet(pages.inspect(keys)) });
        else if (pending.length === 0) await onStep(next, { records: [], vanished: 0 });
        while (pending.length >= depth || (finished && pending.length > 0)) await settle(pending.shift()!);
      }
      // Stopped early: finish what is already in flight so the checkpoint stays exact.
      while (pending.length > 0) await settle(pending.shift()!);
      return finished && !stopped.aborted;
    } finally {
      if (page) void page.catch(() => undefined);
    }

    async function settle(p: (typeof pending)[number]): Promise<void> {
      const inspection = await p.inspection.catch((err) => {
        throw permissionFailure(err, node.address) ?? err;
      });
      pacer.record(pages.method === 'none' ? p.scanMs : performance.now() - p.sent, p.scanned, p.scanned);
      await onStep(p.next, inspection);
    }
  }

  function scanPage(cursor: string, tableKeys: number, stretch: Stretch): Promise<ScanPage> {
    // COUNT is in buckets; a table has about as many buckets as keys. Inside a sample
    // stretch, ask for no more than what is left of it, or every stretch would overshoot.
    const left = stretch.end < 1 ? Math.ceil((stretch.end - cursorPosition(cursor)) * tableKeys) : Infinity;
    const count = Math.max(1, Math.min(pacer.nextBatch(), left));
    const args: Array<string | number> = [cursor, 'COUNT', count];
    if (options.match) args.push('MATCH', options.match);
    if (options.type) args.push('TYPE', options.type);
    const sent = performance.now();
    return quiet(
      (client.scanBuffer(...(args as [string])) as unknown as Promise<[Buffer, Buffer[]]>).then(([next, keys]) => ({ next: next.toString(), keys, ms: performance.now() - sent })).catch((err) => {
        throw permissionFailure(err, node.address) ?? err;
      }),
    );
  }
}

/** Tables smaller than this are walked in one lane: a few calls cover them anyway. */
const MIN_LANE_KEYS = 10_000;

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function laneStretches(lanes: number): Stretch[] {
  return Array.from({ length: lanes }, (_, i) => ({ start: i / lanes, end: (i + 1) / lanes }));
}

interface ScanPage {
  next: string;
  keys: Buffer[];
  /** Round trip of the SCAN itself: what sizes steps when nothing else is measured. */
  ms: number;
}

/** Mark a promise as handled now (it is awaited later, in order), so an early rejection is not "unhandled". */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

async function openProbe(target: Target, node: RedisNode): Promise<Redis | undefined> {
  const [host, port] = splitAddress(node.address);
  return openNode(target.spec, host, port, node.address).catch(() => undefined);
}

/** `host:port` (IPv6 hosts keep their colons) into its parts. */
export function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}

/** Sums per-node progress into one ScanProgress, reported at most every 100 ms (and at the end). */
export class ProgressTracker {
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

function stopSignal(options: ScanOptions): { signal: AbortSignal; reason(): string | undefined; abort(reason: string): void; dispose(): void } {
  const controller = new AbortController();
  let why: string | undefined;
  const onAbort = () => {
    why ??= 'interrupted';
    controller.abort();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const timer =
    options.deadlineMs !== undefined
      ? setTimeout(() => {
          why ??= `time budget of ${options.deadlineMs} ms reached`;
          controller.abort();
        }, options.deadlineMs)
      : undefined;
  return {
    signal: controller.signal,
    reason: () => why,
    abort(reason) {
      why ??= reason;
      controller.abort();
    },
    dispose() {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    },
  };
}
