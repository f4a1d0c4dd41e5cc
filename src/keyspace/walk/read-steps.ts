/**
 * Read steps: each step reads a SCAN page and inspects its keys (type, TTL, bytes) with
 * inspect-keys.lua or pipelined commands (or not at all: a keys-only walk). Pages are read
 * with plain SCAN, so the client sees every name before anything inspects it and pages are
 * sized by the bytes of names they bring back as well as by time; once a node has shown only
 * short names, the script reads the pages itself (one call per page, nothing to parse but
 * packed names: `walkSteps`). A table may be read as stretches side by side (lanes), or as a
 * sample of stretches spread over it.
 */
import { permissionFailure } from '../../target/errors.js';
import { cursorAt, cursorPosition, scanPage, type Stretch } from '../cursor.js';
import { NAME_BYTES_PER_CALL, type Inspection, type NextPage, type PageInspector } from '../inspect.js';
import type { KeyRecord } from '../record.js';
import type { DbWalk, NodeCheckpoint, WalkState, WalkSteps } from './node-walk.js';

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

/** One stretch of a table, read with one inspection in flight. */
interface Lane {
  walk: WalkState;
  stretch: Stretch;
  tableKeys: number;
}

/** SCAN COUNT of a page before anything is known of the names' size on this node. */
const FIRST_PAGE = 16;
/** Keys of a node read with plain SCAN before the script may read pages (`scriptMayRead`). */
const PROBE_KEYS = 2000;
/** Longest name of a page the script may read; a longer one sends the node back to plain SCAN. */
const LIGHT_NAME_BYTES = 1024;

type OnStep = (cursor: string, inspection: Inspection) => Promise<void>;

/** How a walk of a stretch ended: true at its end, false when stopped, or the cursor from which another kind of walk goes on. */
type Outcome = boolean | { from: string };

/** Tables smaller than this are walked in one lane: a few calls cover them anyway. */
const MIN_LANE_KEYS = 10_000;

export class ReadSteps implements WalkSteps {
  readonly inFlight: number;
  vanished = 0;
  /** Recent peak of key-name bytes per SCAN bucket on this node; unknown until a page came back. */
  private bytesPerBucket: number | undefined;
  /** Keys of this node read so far (see `scriptMayRead`). */
  private namesSeen = 0;
  /** A name over LIGHT_NAME_BYTES was seen on this node. */
  private longNames = false;

  constructor(
    readonly inspector: PageInspector,
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

  private async walkStretch(lane: Lane, from: string | undefined, onStep: OnStep): Promise<boolean> {
    let cursor = from ?? (lane.stretch.start === 0 ? '0' : cursorAt(lane.stretch.start));
    const step = this.inspector.step?.bind(this.inspector);
    if (!step) return (await this.walkPages(lane, cursor, onStep)) === true;
    // Plain SCAN pages until the script may read them, and back if a long name shows up.
    for (;;) {
      const outcome = this.scriptMayRead()
        ? await this.walkSteps(lane, cursor, onStep, step)
        : await this.walkPages(lane, cursor, onStep, () => this.scriptMayRead());
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
      if (!open && !this.scriptMayRead()) {
        await settle();
        return { from };
      }
      if (!finished) await pacer.wait();
      const budgetMs = pacer.nextCall('fill').budgetMs;
      if (!open && plain) {
        const page = await this.readPage(lane, from);
        const inspection = await this.inspector.inspect(page.keys, budgetMs).catch((err) => {
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
      if (!finished && this.scriptMayRead()) {
        // The first page is most of the call (the script sizes the pages after it to what is
        // left of the budget): a page that overruns it leaves keys to send back.
        const plan = pacer.nextCall('fill');
        const count = Math.min(this.pageCount(lane, from), plan.pageCount);
        const inStretch = stretch.end < 1 ? Math.ceil((stretch.end - at(from)) * tableKeys) : Infinity;
        if (count < inStretch) {
          const most = Math.min(inStretch - 1, plan.maxKeys || Infinity);
          const bytes = NAME_BYTES_PER_CALL - left.reduce((sum, k) => sum + k.length, 0);
          next = { cursor: from, count, match: this.o.match, type: this.o.type, longest: LIGHT_NAME_BYTES, bytes, most: Number.isFinite(most) ? most : 0 };
        } else if (!open) {
          // A page that would reach the stretch's end is read here: it must stop exactly there.
          plain = true;
          continue;
        }
      }
      const call = step(left, budgetMs, next);
      call.catch(() => undefined);
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
      if (done.heavy) this.longNames = true;
      if (!read) continue;
      if (stretch.end < 1 && at(read.next) > stretch.end) {
        // Past the stretch's end: read here again, bucket by bucket at its end.
        plain = true;
        continue;
      }
      this.notePage(read.found, read.bytes, read.asked);
      moveTo(read.next);
      const serverMs = open ? 0 : done.serverMs;
      if (read.done === read.found) ready.push({ next: read.next, parts: [() => read.inspected()], serverMs });
      else open = { next: read.next, left: read.left(), parts: [() => read.inspected()], serverMs };
    }
    await settle();
    return !open && finished && !stopped.aborted;
  }

  /**
   * Walk one stretch: SCAN pages read here, each inspected by the inspector. Pages and their
   * inspections are pipelined: a page's inspection goes out with the next SCAN, and the page
   * before it is decoded and aggregated only then, so the server never waits on this client
   * while another of our calls is due. One inspection in flight per stretch (several
   * stretches share the call budget). Pages are handed to `onStep` in SCAN order, so a
   * checkpoint cursor always means "every key before it is done".
   */
  private async walkPages(lane: Lane, cursor: string, onStep: OnStep, until?: () => boolean): Promise<Outcome> {
    const { walk, stretch } = lane;
    const { pacer, stopped } = walk;
    const pages = this.inspector;
    // Inspections sent and not yet handled: the one in flight and the one before it (being
    // handled while the next runs); pipelined inspections go one deeper with --fast.
    const lag = pages.method === 'pipeline' && this.o.fast ? 2 : 1;
    const pending: Array<{ next: string; scanned: number; sent: number; scanMs: number; inspection: Promise<Inspection> }> = [];
    let page: Promise<ScanPage> | undefined = this.readPage(lane, cursor);
    let finished = false;
    /** Where `until` said to stop: the pages from there are for another walk. */
    let switchAt: string | undefined;
    const settle = async (p: (typeof pending)[number]): Promise<void> => {
      const inspection = await p.inspection.catch((err) => {
        throw permissionFailure(err, walk.address) ?? err;
      });
      // Cost per bucket asked for, not per key returned: a sparse --match returns few keys
      // from many buckets, and pacing by keys would shrink every call to one tiny page.
      pacer.record(inspection.serverMs ?? (pages.method === 'none' ? p.scanMs : performance.now() - p.sent), p.scanned, p.scanned);
      await onStep(p.next, inspection);
    };
    try {
      while (page) {
        if (stopped.aborted) break;
        const { next, keys, asked, ms } = await page;
        finished = next === '0' || (stretch.end < 1 && cursorPosition(next) >= stretch.end);
        page = undefined;
        if (!finished) await pacer.wait();
        // This page's inspection, then the next SCAN, in one write(2): on loopback the
        // sender's syscall also delivers the data and wakes the server, and two per page cost
        // this process more CPU than the page's keys. The next page arrives once this
        // inspection is done, and the one before it is handled only after the next is sent.
        const stream = walk.conn.status === 'ready' ? walk.conn.stream : undefined;
        stream?.cork();
        if (keys.length > 0) {
          const budgetMs = pacer.nextCall('fill').budgetMs;
          pending.push({ next, scanned: asked, sent: performance.now(), scanMs: ms, inspection: quiet(pages.inspect(keys, budgetMs)) });
        }
        if (!finished && until?.()) switchAt = next;
        else if (!finished) page = this.readPage(lane, next);
        stream?.uncork();
        if (keys.length === 0 && pending.length === 0) await onStep(next, { records: [], vanished: 0 });
        while (pending.length > lag || (finished && pending.length > 0)) await settle(pending.shift()!);
      }
      // Stopped early: finish what is already in flight so the checkpoint stays exact.
      while (pending.length > 0) await settle(pending.shift()!);
      if (switchAt !== undefined && !stopped.aborted) return { from: switchAt };
      return finished && !stopped.aborted;
    } finally {
      if (page) void page.catch(() => undefined);
    }
  }

  /**
   * The next SCAN page of a stretch, read with a plain SCAN of `pageCount` buckets. A page
   * that runs past the stretch's end is read again in smaller pages, keeping the buckets
   * before the end: stretches that touch (lanes) never read a key twice.
   */
  private readPage(lane: Lane, cursor: string): Promise<ScanPage> {
    const { walk, stretch } = lane;
    const count = this.pageCount(lane, cursor);
    const sent = performance.now();
    const read = async (): Promise<ScanPage> => {
      // SCAN's cursor 0 at the end means the walk is done: position 1.
      const at = (c: string) => (c === '0' ? 1 : cursorPosition(c));
      let { next, keys } = await scanPage(walk.conn, cursor, count, this.o);
      let asked = count;
      if (stretch.end < 1 && at(next) > stretch.end) {
        // Read the rest of the stretch again in smaller pages, each sized to 90% of what is
        // left at the keys per position the overshooting pages showed, keeping each page that
        // stops short of the end and shrinking after one that does not. COUNT 1 stops at the
        // first bucket holding a key: a single bucket still past the end is left to the next.
        keys = [];
        const from0 = cursorPosition(cursor);
        let density = count / Math.max(at(next) - from0, Number.EPSILON);
        let cap = count - 1;
        for (let from = cursor; ;) {
          const c = Math.max(1, Math.min(cap, Math.floor((stretch.end - cursorPosition(from)) * density * 0.9)));
          const part = await scanPage(walk.conn, from, c, this.o);
          asked += c;
          if (at(part.next) > stretch.end) {
            if (c === 1) {
              next = part.next;
              break;
            }
            density = c / Math.max(at(part.next) - cursorPosition(from), Number.EPSILON);
            cap = c - 1;
            continue;
          }
          keys.push(...part.keys);
          from = next = part.next;
          if (at(next) >= stretch.end) break;
        }
      }
      let bytes = 0;
      let longest = 0;
      for (const k of keys) {
        bytes += k.length;
        longest = Math.max(longest, k.length);
      }
      this.notePage(keys.length, bytes, asked, longest);
      return { next, keys, asked, ms: performance.now() - sent };
    };
    return quiet(
      read().catch((err) => {
        throw permissionFailure(err, walk.address) ?? err;
      }),
    );
  }

  /**
   * SCAN COUNT of the next page (in buckets: a table has about as many buckets as keys): the
   * pacer's size for a call, at most what the names seen so far on this node allow
   * (NAME_BYTES_PER_CALL), and inside a stretch no more than what is left of it.
   */
  private pageCount({ walk, stretch, tableKeys }: Lane, cursor: string): number {
    const { pacer } = walk;
    const left = stretch.end < 1 ? Math.ceil((stretch.end - cursorPosition(cursor)) * tableKeys) : Infinity;
    const byBytes = this.bytesPerBucket === undefined ? FIRST_PAGE : Math.floor((NAME_BYTES_PER_CALL * 0.75) / Math.max(this.bytesPerBucket, 1));
    const maxKeys = pacer.nextCall('fill').maxKeys || Infinity;
    return Math.max(1, Math.min(pacer.nextBatch(), left, byBytes, maxKeys));
  }

  /**
   * May the script read pages itself? Only once this node's first PROBE_KEYS keys, read with
   * plain SCAN, showed no name over LIGHT_NAME_BYTES, and while none has been seen since.
   * SCAN inside a script copies every name of its page into Lua: one 1 MB name costs such a
   * call 2–4 ms, where a plain SCAN returns it in well under one. Names are spread over the
   * walk by their hash, so a keyspace holding long names at a rate that could put two in one
   * page shows one in its first PROBE_KEYS keys all but surely; a page of the script's that
   * meets one anyway is dropped unread and the node is read with plain SCAN from then on.
   */
  private scriptMayRead(): boolean {
    return !this.longNames && this.namesSeen >= PROBE_KEYS;
  }

  /** Names of a page read: their bytes per bucket size the pages after it. */
  private notePage(keys: number, bytes: number, asked: number, longest = 0): void {
    if (longest > LIGHT_NAME_BYTES) this.longNames = true;
    this.namesSeen += keys;
    // A peak that decays, not a mean: heavy names are rare (one bucket in a hundred), and a
    // mean would size the next page for the light buckets around them.
    this.bytesPerBucket = Math.max(bytes / Math.max(asked, 1), (this.bytesPerBucket ?? 0) * 0.9);
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
  /** SCAN COUNT asked for in all (a page read again bucket by bucket asks for more). */
  asked: number;
  /** Round trip of the SCAN itself: what sizes steps when nothing else is measured. */
  ms: number;
}

/** Mark a promise as handled now (it is awaited later, in order), so an early rejection is not "unhandled". */
export function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
