/**
 * Read steps: each step reads a SCAN page (pages.ts) and inspects its keys (type, TTL, bytes)
 * with inspect-keys.lua or pipelined commands (or not at all: a keys-only walk). A table may
 * be read as stretches side by side (lanes), or as a sample of stretches spread over it.
 */
import { cursorAt, cursorPosition, type Stretch } from '../cursor.js';
import type { Inspection, PageInspector } from '../inspect.js';
import type { KeyRecord } from '../record.js';
import type { DbWalk, NodeCheckpoint, WalkState, WalkSteps } from './node-walk.js';
import { Pages, type Lane } from './pages.js';

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

  /** One stretch, each page inspected with one inspection in flight (pipelined ones one deeper with --fast). */
  private walkStretch(lane: Lane, from: string | undefined, onStep: OnStep): Promise<boolean> {
    const { inspector } = this;
    return this.pages.walk(lane, from ?? (lane.stretch.start === 0 ? '0' : cursorAt(lane.stretch.start)), {
      lag: inspector.method === 'pipeline' && this.o.fast ? 2 : 1,
      prepare: (keys: Buffer[]) => keys,
      // A keys-only walk sends nothing: its steps are paced by SCAN's round trip.
      send: (keys, budgetMs) => (inspector.method === 'none' ? undefined : inspector.inspect(keys, budgetMs)),
      handle: async (next, keys, inspection: Inspection | undefined) =>
        onStep(next, inspection ?? (keys ? await inspector.inspect(keys) : { records: [], vanished: 0 })),
    });
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function laneStretches(lanes: number): Stretch[] {
  return Array.from({ length: lanes }, (_, i) => ({ start: i / lanes, end: (i + 1) / lanes }));
}
