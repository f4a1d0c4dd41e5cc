/**
 * Read steps: each step reads keys and inspects them (type, TTL, bytes), either with
 * scan-inspect.lua (one self-timed call reads and inspects SCAN pages) or with SCAN pages
 * inspected by pipelined commands (or not at all: a keys-only walk). A table may be read as
 * stretches side by side (lanes), or as a sample of stretches spread over it.
 */
import { permissionFailure } from '../../target/errors.js';
import { cursorAt, cursorPosition, scanPage, type Stretch } from '../cursor.js';
import type { Inspection, PageInspector, ScriptInspector, WalkStep } from '../inspect.js';
import type { KeyRecord } from '../record.js';
import type { DbWalk, NodeCheckpoint, WalkState, WalkSteps } from './node-walk.js';

export interface ReadStepOptions {
  match?: string;
  type?: string;
  fast?: boolean;
  /** Stretches read side by side (Lua inspection only); checkpoints stay at the table's start with more than one. Default 1. */
  lanes?: number;
  /** A sample's stretches of each table, read `lanes` at a time; default the whole table. */
  sample?: Stretch[];
  onBatch?(records: KeyRecord[], checkpoint: NodeCheckpoint): void | Promise<void>;
}

/** One stretch of a table, read with one call in flight. */
interface Lane {
  walk: WalkState;
  stretch: Stretch;
  tableKeys: number;
}

type OnStep = (cursor: string, inspection: Inspection) => Promise<void>;

/** Tables smaller than this are walked in one lane: a few calls cover them anyway. */
const MIN_LANE_KEYS = 10_000;

export class ReadSteps implements WalkSteps {
  readonly inFlight: number;
  vanished = 0;

  constructor(
    readonly inspector: ScriptInspector | PageInspector,
    private readonly o: ReadStepOptions,
  ) {
    this.inFlight = o.lanes ?? 1;
  }

  async walkDb(walk: WalkState, d: DbWalk): Promise<boolean> {
    const { db, tableKeys, from } = d;
    const { sample } = this.o;
    // Lanes: stretches read side by side (one call in flight each), so the server always
    // has the next call queued. A whole walk is split into `lanes` touching stretches; a
    // sample's strata are read `lanes` at a time. Not for tables a few calls cover, and
    // never when resuming (a checkpoint is one cursor).
    const laneCount = this.inspector.method === 'lua' && !d.resumed && tableKeys >= MIN_LANE_KEYS ? this.inFlight : 1;
    const groups = sample ? chunks(sample, laneCount) : [laneStretches(laneCount)];
    const done = new Array<number>(groups.flat().length).fill(0);
    let index = 0;
    for (const group of groups) {
      const first = index;
      index += group.length;
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

  private walkStretch(lane: Lane, from: string | undefined, onStep: OnStep): Promise<boolean> {
    const cursor = from ?? (lane.stretch.start === 0 ? '0' : cursorAt(lane.stretch.start));
    return this.inspector.method === 'lua' ? this.walkScripted(lane, this.inspector, cursor, onStep) : this.walkPages(lane, this.inspector, cursor, onStep);
  }

  /**
   * Walk one stretch with scan-inspect.lua: each call reads and inspects SCAN pages until
   * its time budget is spent, and returns where it stopped. One call is in flight at a
   * time, and the next is sent the moment a reply arrives, before that reply is decoded and
   * aggregated: the server idles only for a loopback round trip between calls, and another
   * client never waits behind more than one call of ours.
   */
  private async walkScripted({ walk, stretch, tableKeys }: Lane, lua: ScriptInspector, cursor: string, onStep: OnStep): Promise<boolean> {
    const { pacer, stopped } = walk;
    const request = (from: string) => {
      const plan = pacer.nextCall('fill');
      const step = lua.walk({ cursor: from, ...plan, stopAt: stretch.end, tableKeys, match: this.o.match, type: this.o.type });
      return quiet(step.catch((err) => Promise.reject(permissionFailure(err, walk.address) ?? err)));
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
  private async walkPages(lane: Lane, pages: PageInspector, cursor: string, onStep: OnStep): Promise<boolean> {
    const { walk, stretch } = lane;
    const { pacer, stopped } = walk;
    const depth = this.o.fast ? 3 : 2;
    const pending: Array<{ next: string; scanned: number; sent: number; scanMs: number; inspection: Promise<Inspection> }> = [];
    let page: Promise<ScanPage> | undefined = this.readPage(lane, cursor);
    let finished = false;
    const settle = async (p: (typeof pending)[number]): Promise<void> => {
      const inspection = await p.inspection.catch((err) => {
        throw permissionFailure(err, walk.address) ?? err;
      });
      pacer.record(pages.method === 'none' ? p.scanMs : performance.now() - p.sent, p.scanned, p.scanned);
      await onStep(p.next, inspection);
    };
    try {
      while (page) {
        if (stopped.aborted) break;
        const { next, keys, ms } = await page;
        finished = next === '0' || (stretch.end < 1 && cursorPosition(next) >= stretch.end);
        page = undefined;
        if (!finished) {
          await pacer.wait();
          page = this.readPage(lane, next);
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
  }

  private readPage({ walk, stretch, tableKeys }: Lane, cursor: string): Promise<ScanPage> {
    // COUNT is in buckets; a table has about as many buckets as keys. Inside a sample
    // stretch, ask for no more than what is left of it, or every stretch would overshoot.
    const left = stretch.end < 1 ? Math.ceil((stretch.end - cursorPosition(cursor)) * tableKeys) : Infinity;
    const count = Math.max(1, Math.min(walk.pacer.nextBatch(), left));
    const sent = performance.now();
    return quiet(
      scanPage(walk.conn, cursor, count, this.o)
        .then((page) => ({ ...page, ms: performance.now() - sent }))
        .catch((err) => {
          throw permissionFailure(err, walk.address) ?? err;
        }),
    );
  }
}

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
export function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
