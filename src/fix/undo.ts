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
import { displayKey } from '../keyspace/display.js';
import { Pacer, type PaceOptions } from '../keyspace/pace.js';
import type { Target } from '../target/connect.js';
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
}

interface Batch {
  route: UndoRoute;
  items: UndoItem[];
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
      {
        cause: err,
      },
    );
  } finally {
    router?.close();
  }
}

/** One pass over the journal: keys are placed on the node that serves them, sent a batch per node. */
class UndoRun {
  readonly report: UndoReport;
  private readonly started = performance.now();
  private readonly pacer: Pacer;
  private readonly persister: UndoPersister;
  private readonly unconfirmed = new Map<string, 'nx' | 'lt'>();
  private readonly pending = new Map<string, Batch>();
  /** Keys a failed call handed back, to be placed again (the slot map was reread). */
  private readonly retry: UndoItem[] = [];
  private lastProgress = 0;

  constructor(
    target: Target,
    private readonly options: UndoOptions,
    private readonly state: JournalState,
    private readonly router: UndoRouter,
  ) {
    this.pacer = new Pacer(options);
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
    // A set line waits for its done line, which holds the expiry each key was given.
    const waiting = new Map<string, JournalSet>();
    // Keys of calls the run died with in flight (base64 → op). A later run that set the same
    // key's TTL (NX took) shows the dead call's TTL is not there: the key is counted there, once.
    const unconfirmed = this.unconfirmed;
    for await (const line of readJournal(this.options.journal, (raw) => raw.startsWith('{"t":"set"') || raw.startsWith('{"t":"done"'))) {
      if (this.options.signal?.aborted) {
        this.report.interrupted = true;
        break;
      }
      if (line.t === 'set') {
        if (this.state.unansweredBatches.has(line.b)) {
          for (const key of line.keys) unconfirmed.set(key, line.op);
          continue;
        }
        waiting.set(line.b, line);
      }
      if (line.t !== 'done') continue;
      const set = waiting.get(line.b);
      if (!set) continue;
      waiting.delete(line.b);
      await this.take(set, line);
      await this.drainRetries();
      this.progress();
    }
    // Calls the run died with in flight: whether each TTL is fix's cannot be known.
    if (!this.report.interrupted) {
      for (const [key, op] of unconfirmed) {
        this.report.journaled++;
        this.leaveAlone(op === 'lt' ? 'shortened' : 'unconfirmed', Buffer.from(key, 'base64'));
      }
    }
    // What is gathered is sent even when interrupted: those keys are already counted as journaled.
    while (this.pending.size > 0 || this.retry.length > 0) {
      for (const id of [...this.pending.keys()]) await this.send(id);
      await this.drainRetries();
    }
    this.report.durationMs = Math.round(performance.now() - this.started);
    this.progress(true);
    return this.report;
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
      else await this.place({ key, expiry: done.exp?.[i] ?? 0, node: line.node, db: line.db, attempts: 0 });
    }
  }

  /** Queue a key for the node that serves it now (or skip it), sending a batch once it is full. */
  private async place(item: UndoItem): Promise<void> {
    const route = this.router.route(item.key, item.node, item.db);
    if (typeof route === 'string') return this.leaveAlone(route, item.key);
    // Standalone: the same server under another spelling (localhost for 127.0.0.1) is no move.
    if (this.report.target.mode === 'standalone') item.node = route.node;
    const id = `${route.node}\n${route.db}`;
    let batch = this.pending.get(id);
    if (!batch) this.pending.set(id, (batch = { route, items: [] }));
    batch.items.push(item);
    if (batch.items.length >= this.pacer.nextBatch()) await this.send(id);
  }

  private async send(id: string): Promise<void> {
    const batch = this.pending.get(id);
    if (!batch) return;
    this.pending.delete(id);
    const { route, items } = batch;
    await this.pacer.wait();
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
      for (const it of items) {
        if (++it.attempts >= MAX_ATTEMPTS) this.leaveAlone('migrating', it.key);
        else this.retry.push(it);
      }
      return;
    }
    this.pacer.record(performance.now() - t0, items.length, items.length);
    // "Gone" may mean "migrated a moment ago": those keys are placed again by the new map.
    const gone = items.flatMap((it, i) => (CODES[reply[i]] === 'gone' ? [i] : []));
    const moved =
      gone.length > 0
        ? await this.router.movedAway(
            route,
            gone.map((i) => items[i].key),
          )
        : new Set<number>();
    // Refused by the node ('m'): its slot moved since the map was read.
    const again = new Set([...[...moved].map((j) => gone[j]), ...items.flatMap((it, i) => (reply[i] === 'm' ? [i] : []))]);
    if (again.size > moved.size && moved.size === 0) await this.router.refresh();
    for (let i = 0; i < items.length; i++) {
      if (again.has(i)) {
        if (++items[i].attempts >= MAX_ATTEMPTS) this.leaveAlone('migrating', items[i].key);
        else this.retry.push(items[i]);
        continue;
      }
      const code = CODES[reply[i]];
      if (code === 'undone') this.report.persisted++;
      else this.leaveAlone(code, items[i].key);
      if (items[i].node !== route.node) this.report.rerouted++;
    }
    this.progress();
  }

  private async drainRetries(): Promise<void> {
    while (this.retry.length > 0) await this.place(this.retry.shift() as UndoItem);
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
