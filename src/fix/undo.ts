/**
 * `undoFix`: take back the TTLs a fix run set, from its journal. Only `PERSIST`, only on
 * journaled keys, and only while the key's absolute expiry is still exactly the one fix
 * recorded right after its write (undo-persist.ts). A key the application has since given
 * another TTL, re-created or deleted is left alone and counted with a reason; so is a key
 * whose write was never answered (the run died with the call in flight). The whole journal
 * is checked before the first write. On a cluster each key goes to the master that serves
 * its slot now (undo-route.ts), so a resharding or failover since fix changes nothing but
 * the node that answers.
 */
import { displayKey } from '../display.js';
import type { PaceOptions } from '../keyspace/walk/pace.js';
import { onNode, type NodeOutcome, type WalkState } from '../keyspace/walk/node-walk.js';
import type { RedisNode, Target } from '../target/connect.js';
import { ConnectionError, KeywardenError } from '../errors.js';
import { FixInterruptedError, runFailure } from './errors.js';
import { journalState, readJournal, type JournalDone, type JournalSet, type JournalState } from './journal.js';
import { sameServers } from './same-server.js';
import { UndoPersister } from './undo-persist.js';
import { undoRouter, type UndoRoute, type UndoRouter } from './undo-route.js';
import type { UndoReport, UndoSkipReason } from './types.js';

/** How far undo is: keys decided (undone or skipped) of the keys the journal holds. */
export interface UndoProgress {
  done: number;
  total: number;
  /** done / total, 0 to 1. */
  ratio: number;
  keysPerSecond: number;
}

export interface UndoOptions extends PaceOptions {
  journal: string;
  /** Check and report only; no PERSIST is sent. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /** The journal checked whole and the target reached; the first write comes next. */
  onStart?(): void;
  onProgress?(progress: UndoProgress): void;
}

const EXAMPLES = 3;
/** How far a key a resharding moved may have its expiry re-based (MIGRATE sends the remaining TTL). */
const MIGRATED_SLACK_MS = 1000;
/** Placements per key: a slot that keeps moving while undo runs is reported, not chased. */
const MAX_ATTEMPTS = 3;
/** How long a key handed back while its slot moves waits before it is placed again. */
const MIGRATION_WAIT_MS = 250;
const PROGRESS_EVERY_MS = 100;
const CODES: Record<string, UndoSkipReason | 'undone'> = { u: 'undone', g: 'gone', p: 'noTtl', l: 'longerTtl', s: 'otherTtl' };

/** A journaled key on its way: the absolute expiry fix gave it, and where fix wrote it. */
interface UndoItem {
  key: Buffer;
  /** Unix ms, PEXPIRETIME right after fix's write. */
  expiry: number;
  node: string;
  db: number;
  attempts: number;
  /** Where it is sent now. */
  route?: UndoRoute;
}

/** Resolves the waiters of one condition when it may have changed. */
class Wake {
  private waiters: Array<() => void> = [];
  wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }
  fire(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

/** The keys waiting for one node, sent a batch at a time by the node's worker (one call in flight). */
class NodeQueue {
  readonly items: UndoItem[] = [];
  /** Keys per call, as the node's pacer sizes them: the journal is read at most two calls ahead. */
  want = 1;
  /** Keys arrived (or the run moved on): the worker looks again. */
  readonly ready = new Wake();
  /** Keys left (or the worker ended): the journal reader looks again. */
  readonly room = new Wake();

  /** Up to `n` keys of one database (the first waiting key's). */
  take(n: number): UndoItem[] {
    const db = this.items[0].route!.db;
    const batch: UndoItem[] = [];
    const rest: UndoItem[] = [];
    for (const it of this.items) (batch.length < n && it.route!.db === db ? batch : rest).push(it);
    this.items.splice(0, this.items.length, ...rest);
    this.room.fire();
    return batch;
  }
}

/**
 * Undo a fix run recorded in `options.journal` on `target`.
 * @throws JournalError when the journal is missing or damaged; FixInterruptedError when the
 * server (standalone) or every node of the cluster goes away.
 */
export async function undoFix(target: Target, options: UndoOptions): Promise<UndoReport> {
  // Checked whole before the first write: a damaged journal never leaves a half-done undo.
  const state = await journalState(options.journal);
  let router: UndoRouter | undefined;
  let run: UndoRun | undefined;
  try {
    router = await undoRouter(target, target.mode === 'standalone' ? await sameServers(target, state.runIds, state.nodes) : new Map());
    run = new UndoRun(target, options, state, router);
    options.onStart?.();
    return await run.run();
  } catch (err) {
    if (err instanceof KeywardenError && !(err instanceof ConnectionError)) throw err;
    const { error, transient } = runFailure(err, target.spec.display, target.spec.replyTimeoutMs);
    const again = 'rerun the same undo: keys already undone are left alone as having no TTL';
    throw new FixInterruptedError(
      `undo stopped after ${run?.report.persisted ?? 0} PERSIST: ${error.message}`,
      transient ? `once the server answers again, ${again}` : `${error.hint}; then ${again}`,
      { cause: err },
    );
  } finally {
    router?.close();
  }
}

/**
 * One pass over the journal: each key is placed on the node that serves it, in that node's
 * queue, and every node's queue is sent by a worker of its own on the walk engine (`onNode`:
 * pacing with the latency probe, --max-ops, stop and failure per node).
 */
class UndoRun {
  readonly report: UndoReport;
  private readonly started = performance.now();
  private readonly persister: UndoPersister;
  /**
   * Keys of calls the run died with in flight (base64 → op). A later run that set the same
   * key's TTL (NX took) shows the dead call's TTL is not there: the key is counted there, once.
   */
  private readonly unconfirmed = new Map<string, 'nx' | 'lt'>();
  private readonly queues = new Map<string, NodeQueue>();
  private readonly workers: Array<Promise<NodeOutcome>> = [];
  /** A node failed: the others stop after their call in flight, and the journal is read no further. */
  private readonly failed = new AbortController();
  private reading = true;
  /** Batches taken and not yet answered, and keys waiting for a slot to move: they may yet be placed again. */
  private busy = 0;
  private readonly moving: UndoItem[] = [];
  private lastProgress = 0;

  constructor(
    private readonly target: Target,
    private readonly options: UndoOptions,
    private readonly state: JournalState,
    private readonly router: UndoRouter,
  ) {
    this.persister = new UndoPersister(target.mode === 'cluster');
    this.report = {
      kind: 'keywarden.undo',
      schemaVersion: 1,
      takenAt: new Date().toISOString(),
      dryRun: options.dryRun === true,
      journal: options.journal,
      target: { url: target.spec.display, mode: target.mode },
      journaled: 0,
      persisted: 0,
      rerouted: 0,
      skipped: { gone: 0, noTtl: 0, longerTtl: 0, otherTtl: 0, refused: 0, shortened: 0, unknownNode: 0, migrating: 0, unreachable: 0, unconfirmed: 0 },
      skippedExamples: {},
      durationMs: 0,
    };
  }

  async run(): Promise<UndoReport> {
    try {
      await this.read();
    } catch (err) {
      this.failed.abort();
      throw err;
    } finally {
      // What is gathered is sent even when interrupted: those keys are already counted as journaled.
      this.reading = false;
      this.wakeAll();
      await Promise.allSettled(this.workers);
    }
    const outcomes = await Promise.all(this.workers);
    const failed = outcomes.find((o) => o.failure);
    if (failed) throw failed.error;
    this.report.durationMs = Math.round(performance.now() - this.started);
    this.progress(true);
    return this.report;
  }

  private async read(): Promise<void> {
    // A set line waits for its done line, which holds the expiry each key was given.
    const waiting = new Map<string, JournalSet>();
    for await (const line of readJournal(this.options.journal, (raw) => raw.startsWith('{"t":"set"') || raw.startsWith('{"t":"done"'))) {
      if (this.failed.signal.aborted) return;
      if (this.options.signal?.aborted) {
        this.report.interrupted = true;
        break;
      }
      if (line.t === 'set') {
        if (this.state.unansweredBatches.has(line.b)) {
          for (const key of line.keys) this.unconfirmed.set(key, line.op);
          continue;
        }
        waiting.set(line.b, line);
      }
      if (line.t !== 'done') continue;
      const set = waiting.get(line.b);
      if (!set) continue;
      waiting.delete(line.b);
      await this.take(set, line);
      this.progress();
    }
    // Calls the run died with in flight: whether each TTL is fix's cannot be known.
    if (!this.report.interrupted) {
      for (const [key, op] of this.unconfirmed) {
        this.report.journaled++;
        this.leaveAlone(op === 'lt' ? 'shortened' : 'unconfirmed', Buffer.from(key, 'base64'));
      }
    }
  }

  private async take(line: JournalSet, done: JournalDone): Promise<void> {
    const refused = new Set(done.refused);
    for (let i = 0; i < line.keys.length; i++) {
      // A keys-only batch sends every key its rule covers; NX (or LT) refusing one means it
      // had a TTL of its own, so fix never gave it one: not fix's to undo, nor to count.
      if (line.keysOnly && refused.has(i)) continue;
      if (line.op === 'nx' && !refused.has(i)) this.unconfirmed.delete(line.keys[i]);
      const key = Buffer.from(line.keys[i], 'base64');
      this.report.journaled++;
      if (line.op === 'lt') this.leaveAlone('shortened', key);
      else if (refused.has(i)) this.leaveAlone('refused', key);
      else {
        const queue = this.place({ key, expiry: done.exp?.[i] ?? 0, node: line.node, db: line.db, attempts: 0 });
        // The journal is read at most two calls ahead of the node's worker.
        while (queue && queue.items.length >= 2 * queue.want && !this.failed.signal.aborted) await queue.room.wait();
      }
    }
  }

  /** Queue a key for the node that serves it now (or skip it); a node's first key starts its worker. */
  private place(item: UndoItem): NodeQueue | undefined {
    const route = this.router.route(item.key, item.node, item.db);
    if (typeof route === 'string') {
      this.leaveAlone(route, item.key);
      return undefined;
    }
    // Standalone: the same server under another spelling (localhost for 127.0.0.1) is no move.
    if (this.report.target.mode === 'standalone') item.node = route.node;
    item.route = route;
    let queue = this.queues.get(route.node);
    if (!queue) {
      this.queues.set(route.node, (queue = new NodeQueue()));
      this.workers.push(this.work(route, queue));
    }
    queue.items.push(item);
    if (queue.items.length >= queue.want) queue.ready.fire();
    return queue;
  }

  /** The worker of one node: its queue sent a batch at a time until the journal is read and every key decided. */
  private work(route: UndoRoute, queue: NodeQueue): Promise<NodeOutcome> {
    const node: RedisNode = { address: route.node, role: 'master', client: route.client };
    const outcome = onNode(this.target, node, { ...this.options, signal: this.failed.signal }, async (walk) => {
      while (!walk.stopped.aborted) {
        if (queue.want !== walk.pacer.nextBatch()) {
          queue.want = walk.pacer.nextBatch();
          queue.room.fire();
        }
        if (queue.items.length >= queue.want || (!this.reading && queue.items.length > 0)) {
          const batch = queue.take(queue.want);
          this.busy++;
          try {
            await this.send(walk, batch);
          } finally {
            this.busy--;
            this.wakeAll();
          }
        } else if (!this.reading && this.busy === 0 && [...this.queues.values()].every((q) => q.items.length === 0)) return;
        else await queue.ready.wait();
      }
    }).then(
      (o) => {
        if (o.failure) this.failed.abort();
        return o;
      },
      (err: unknown) => {
        this.failed.abort();
        throw err;
      },
    );
    void outcome.finally(() => this.wakeAll()).catch(() => undefined);
    return outcome;
  }

  private wakeAll(): void {
    for (const q of this.queues.values()) {
      q.ready.fire();
      q.room.fire();
    }
  }

  private async send(walk: WalkState, items: UndoItem[]): Promise<void> {
    const route = items[0].route!;
    await walk.pacer.wait();
    const t0 = performance.now();
    let reply: string;
    try {
      await this.router.prepare(route);
      reply = await this.persister.run(
        route.client,
        items.map((it) => it.key),
        // A key MIGRATE moved to another master carries its remaining TTL, re-based on the
        // receiving server's clock: its expiry may differ by the migration's latency.
        items.map((it) =>
          it.node === route.node ? { lo: it.expiry, hi: it.expiry } : { lo: it.expiry - MIGRATED_SLACK_MS, hi: it.expiry + MIGRATED_SLACK_MS },
        ),
        !this.options.dryRun,
      );
    } catch (err) {
      // Rejects unless rereading the slot map can explain it; then every key is placed again.
      await this.router.failed(route, err);
      for (const it of items) this.again(it);
      return;
    }
    walk.pacer.record(performance.now() - t0, items.length, items.length);
    // "Gone" may mean "migrated a moment ago": those keys are placed again by the new map.
    const gone = items.flatMap((it, i) => (CODES[reply[i]] === 'gone' ? [i] : []));
    const goneKeys = gone.map((i) => items[i].key);
    const moved = gone.length > 0 ? await this.router.movedAway(route, goneKeys) : new Set<number>();
    // Refused by the node ('m'): its slot moved since the map was read.
    const again = new Set([...[...moved].map((j) => gone[j]), ...items.flatMap((it, i) => (reply[i] === 'm' ? [i] : []))]);
    if (moved.size === 0 && again.size > 0) await this.router.refresh();
    for (let i = 0; i < items.length; i++) {
      if (again.has(i)) {
        this.again(items[i]);
        continue;
      }
      const code = CODES[reply[i]];
      if (code === 'undone') this.report.persisted++;
      else this.leaveAlone(code, items[i].key);
      if (items[i].node !== route.node) this.report.rerouted++;
    }
    this.progress();
  }

  /** A key its node handed back (the slot map was reread): placed again, or skipped after a few tries. */
  private again(item: UndoItem): void {
    if (++item.attempts >= MAX_ATTEMPTS) return this.leaveAlone('migrating', item.key);
    if (this.router.route(item.key, item.node, item.db) !== 'migrating') return void this.place(item);
    // Its slot is being moved right now (another node's call can run while it moves): placed
    // again once the slot map is read anew in a moment, as a slot's keys move in milliseconds.
    if (this.moving.push(item) > 1) return;
    this.busy++;
    setTimeout(() => {
      void this.router
        .refresh()
        .catch(() => undefined)
        .then(() => {
          for (const it of this.moving.splice(0)) this.again(it);
          this.busy--;
          this.wakeAll();
        });
    }, MIGRATION_WAIT_MS);
  }

  /** Count a key undo leaves as it is, and why (the report's `skipped`). */
  private leaveAlone(reason: UndoSkipReason, key: Buffer): void {
    this.report.skipped[reason]++;
    const list = (this.report.skippedExamples[reason] ??= []);
    if (list.length < EXAMPLES) list.push(displayKey(key));
  }

  private progress(force = false): void {
    const now = performance.now();
    if (!this.options.onProgress || (!force && now - this.lastProgress < PROGRESS_EVERY_MS)) return;
    this.lastProgress = now;
    const r = this.report;
    const done = r.persisted + Object.values(r.skipped).reduce((a, b) => a + b, 0);
    const total = Math.max(this.state.journaledKeys, done);
    this.options.onProgress({ done, total, ratio: total > 0 ? done / total : 1, keysPerSecond: done / Math.max((now - this.started) / 1000, 0.001) });
  }
}
