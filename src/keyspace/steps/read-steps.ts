/**
 * Read steps: each step reads a SCAN page (pages.ts) and inspects its keys (type, TTL, bytes)
 * with inspect-keys.lua or pipelined commands (or not at all: a keys-only walk). Once a node's
 * names are known to be short, inspect-keys.lua reads the pages itself (`walkSteps`). A table
 * may be read as stretches side by side (lanes), or as a sample of stretches spread over it.
 */
import { permissionFailure } from '../../target/errors.js';
import { cursorAt, cursorPosition, type Stretch } from '../walk/cursor.js';
import { NAME_BYTES_PER_CALL } from '../walk/calls.js';
import type { Inspection, NextPage, PageInspector } from './inspect.js';
import type { KeyRecord } from '../record.js';
import type { DbWalk, NodeCheckpoint, WalkState, WalkSteps } from '../walk/node-walk.js';
import { Pages, quiet, SHORT_NAME_BYTES, type Lane, type Outcome, type PageCalls } from '../walk/pages.js';

export interface ReadStepOptions {
  match?: string;
  type?: string;
  fast?: boolean;
  /** Stretches read side by side (script inspection only); checkpoints stay at the table's start with more than one. Default 1. */
  lanes?: number;
  /** A sample's stretches of each table, read `lanes` at a time; default the whole table. */
  sample?: Stretch[];
  onBatch?(records: KeyRecord[], checkpoint: NodeCheckpoint): void | Promise<void>;
}

type OnStep = (cursor: string, inspection: Inspection) => Promise<void>;

/** Tables smaller than this are walked in one lane: a few calls cover them anyway. */
const MIN_LANE_KEYS = 10_000;

export class ReadSteps implements WalkSteps {
  readonly inFlight: number;
  vanished = 0;
  private readonly pages: Pages;

  constructor(
    readonly inspector: PageInspector,
    private readonly o: ReadStepOptions,
  ) {
    this.inFlight = o.lanes ?? 1;
    this.pages = new Pages(o);
  }

  async walkDb(walk: WalkState, d: DbWalk): Promise<boolean> {
    const { db, tableKeys, from } = d;
    const { sample } = this.o;
    // Lanes: stretches read side by side (one call in flight each), so the server always
    // has the next call queued. A whole walk is split into `lanes` touching stretches; a
    // sample's strata are read `lanes` at a time. Not for tables a few calls cover, and
    // never when resuming (a checkpoint is one cursor).
    const laneCount = this.inspector.method === 'lua' && !d.resumed && tableKeys >= MIN_LANE_KEYS ? this.inFlight : 1;
    const stretches = sample ?? Array.from({ length: laneCount }, (_, i) => ({ start: i / laneCount, end: (i + 1) / laneCount }));
    const done = new Array<number>(stretches.length).fill(0);
    for (let first = 0; first < stretches.length; first += laneCount) {
      const group = stretches.slice(first, first + laneCount);
      const walks = await Promise.allSettled(
        group.map((stretch, gi) => {
          const si = first + gi;
          const start = si === 0 ? from : undefined;
          return this.walkStretch({ walk, stretch, tableKeys }, start, async (cursor, inspection) => {
            this.vanished += inspection.vanished;
            // With lanes a cursor no longer means "every key before it is done".
            if (laneCount === 1) walk.checkpoint = { node: walk.address, db, cursor, done: false };
            const records = inspection.records as KeyRecord[];
            for (const r of records) {
              r.db = db;
              r.node = walk.address;
            }
            walk.keysSeen += records.length;
            if (this.o.onBatch && records.length > 0) await this.o.onBatch(records, walk.checkpoint);
            done[si] = cursor === '0' ? 1 : Math.min((cursorPosition(cursor) - stretch.start) / (stretch.end - stretch.start), 1);
            d.progress(0, done.reduce((a, b) => a + b, 0) / done.length);
          }).catch((err: unknown) => {
            walk.stop();
            throw err;
          });
        }),
      );
      // Every lane has settled, so nothing of this node is still being added when it returns.
      const failed = walks.find((w) => w.status === 'rejected');
      if (failed) throw failed.reason;
      if (!walks.every((w) => w.status === 'fulfilled' && w.value)) return false;
    }
    return true;
  }

  /**
   * One stretch. Plain SCAN pages, each inspected with one inspection in flight (pipelined
   * ones one deeper with --fast), until this node's names are known to be short; then, with
   * inspect-keys.lua, the script reads the pages itself (`walkSteps`), and back to plain SCAN
   * pages if a long name shows up.
   */
  private async walkStretch(lane: Lane, from: string | undefined, onStep: OnStep): Promise<boolean> {
    const { inspector } = this;
    const step = inspector.step?.bind(inspector);
    const calls: PageCalls<Buffer[], Inspection> = {
      lag: inspector.method === 'pipeline' && this.o.fast ? 2 : 1,
      prepare: (keys: Buffer[]) => keys,
      // A keys-only walk sends nothing: its steps are paced by SCAN's round trip.
      send: (keys, budgetMs) => (inspector.method === 'none' ? undefined : inspector.inspect(keys, budgetMs)),
      handle: async (next, keys, inspection: Inspection | undefined) =>
        onStep(next, inspection ?? (keys ? await inspector.inspect(keys) : { records: [], vanished: 0 })),
    };
    let cursor = from ?? (lane.stretch.start === 0 ? '0' : cursorAt(lane.stretch.start));
    for (;;) {
      const outcome =
        step && this.pages.namesAreShort()
          ? await this.walkSteps(lane, cursor, onStep, step)
          : await this.pages.walk(lane, cursor, calls, step && (() => this.pages.namesAreShort()));
      if (typeof outcome === 'boolean') return outcome;
      cursor = outcome.from;
    }
  }

  /**
   * Walk one stretch with an inspector that reads pages itself (inspect-keys.lua): each call
   * inspects what is left of the page before and then reads and inspects the next page, until
   * its budget is spent, so a page costs one call and its names are parsed here once, packed.
   * The pages inspected are handed to `onStep` (in SCAN order) while the next call runs. The
   * last page of a stretch (which must stop exactly at its end) is read here with a plain
   * SCAN. Once a long name shows up, it returns where plain SCAN pages go on from.
   */
  private async walkSteps(lane: Lane, cursor: string, onStep: OnStep, step: Required<PageInspector>['step']): Promise<Outcome> {
    const { walk, stretch, tableKeys } = lane;
    const { pacer, stopped } = walk;
    const at = (c: string) => (c === '0' ? 1 : cursorPosition(c));
    /** A page read, as parts decoded only when it is handed on. */
    type Parts = Array<() => Pick<Inspection, 'records' | 'vanished'>>;
    /** The page being inspected: its keys not yet reached go in the next call. */
    let open: { next: string; left: Buffer[]; parts: Parts; serverMs: number } | undefined;
    const ready: Array<{ next: string; parts: Parts; serverMs: number }> = [];
    let from = cursor;
    let finished = false;
    /** The page at `from` is one to read here: the stretch's last. */
    let plain = false;
    const moveTo = (next: string) => {
      from = next;
      finished = next === '0' || (stretch.end < 1 && at(next) >= stretch.end);
      plain = false;
    };
    const settle = async () => {
      for (let p = ready.shift(); p; p = ready.shift()) {
        const inspection: Inspection = { records: [], vanished: 0, serverMs: p.serverMs };
        for (const part of p.parts) {
          const { records, vanished } = part();
          for (const r of records) inspection.records.push(r);
          inspection.vanished += vanished;
        }
        await onStep(p.next, inspection);
      }
    };
    const failure = (err: unknown) => permissionFailure(err, walk.address) ?? err;
    while (!stopped.aborted && (open || !finished)) {
      if (!open && !this.pages.namesAreShort()) {
        await settle();
        return { from };
      }
      if (!finished) await pacer.wait();
      const plan = pacer.nextCall();
      if (!open && plain) {
        const page = await this.pages.read(lane, from);
        const inspection = await this.inspector.inspect(page.keys, plan.budgetMs).catch((err) => {
          throw failure(err);
        });
        pacer.record(inspection.serverMs ?? 0, page.asked, page.asked);
        await settle();
        ready.push({ next: page.next, parts: [() => inspection], serverMs: inspection.serverMs ?? 0 });
        moveTo(page.next);
        continue;
      }
      const left = open?.left ?? [];
      let next: NextPage | undefined;
      if (!finished && this.pages.namesAreShort()) {
        // The first page is most of the call (the script sizes the pages after it to what is
        // left of the budget): a page that overruns it leaves keys to send back.
        const count = Math.min(this.pages.count(lane, from), plan.pageCount);
        const inStretch = stretch.end < 1 ? Math.ceil((stretch.end - at(from)) * tableKeys) : Infinity;
        if (count < inStretch) {
          const most = Math.min(inStretch - 1, plan.maxKeys || Infinity);
          const bytes = NAME_BYTES_PER_CALL - left.reduce((sum, k) => sum + k.length, 0);
          next = { cursor: from, count, match: this.o.match, type: this.o.type, longest: SHORT_NAME_BYTES, bytes, most: Number.isFinite(most) ? most : 0 };
        } else if (!open) {
          // A page that would reach the stretch's end is read here: it must stop exactly there.
          plain = true;
          continue;
        }
      }
      const call = quiet(step(left, plan.budgetMs, next));
      // The pages inspected before are decoded and aggregated while this call runs.
      await settle();
      const done = await call.catch((err) => {
        throw failure(err);
      });
      const read = done.page;
      // Cost per bucket asked for, not per key returned: a sparse --match returns few keys
      // from many buckets, and pacing by keys would shrink every call to one tiny page.
      const covered = done.done + (read?.asked ?? 0);
      pacer.record(done.serverMs, covered, covered);
      if (open) {
        const inspected = left.slice(0, done.done);
        open.parts.push(() => done.sent(inspected));
        open.serverMs += done.serverMs;
        open.left = left.slice(done.done);
        if (open.left.length === 0) {
          ready.push(open);
          open = undefined;
        }
      }
      if (done.heavy) this.pages.longNameSeen();
      if (!read) continue;
      if (stretch.end < 1 && at(read.next) > stretch.end) {
        // Past the stretch's end: read here again, bucket by bucket at its end.
        plain = true;
        continue;
      }
      // The script returns no page holding a long name, so its longest is not needed here.
      this.pages.note(read.found, read.bytes, read.asked, 0);
      moveTo(read.next);
      const serverMs = open ? 0 : done.serverMs;
      if (read.done === read.found) ready.push({ next: read.next, parts: [() => read.inspected()], serverMs });
      else open = { next: read.next, left: read.left(), parts: [() => read.inspected()], serverMs };
    }
    await settle();
    return !open && finished && !stopped.aborted;
  }
}
