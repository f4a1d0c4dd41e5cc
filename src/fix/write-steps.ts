/**
 * Write steps (`fix --apply`): per node, on a connection of its own, the SCAN pages of a
 * keys-only walk (pages.ts, as the read steps read them), each page's keys decided against the
 * policy here, and the ones a rule gives a TTL written with PEXPIRE … NX by the writer
 * (fix-expire.lua; pipelined MULTI/EXEC where this user may not run scripts). When a page
 * arrives, the SCAN of the next one goes first; the page's keys are decided and journaled (the
 * ledger's `set` line) while the server works, and their write follows at once: the server
 * always has one of our commands queued behind the one it runs, and never more than one SCAN
 * and one write. Answers are counted in SCAN order; a checkpoint is journaled once every key
 * read before it is answered.
 */
import type { Redis } from 'ioredis';
import { cursorPosition } from '../keyspace/walk/cursor.js';
import { TTL_UNKNOWN, UNMEASURED, type KeyRecord } from '../keyspace/record.js';
import type { DbWalk, NodeCheckpoint, WalkState, WalkSteps } from '../keyspace/walk/node-walk.js';
import { Pages } from '../keyspace/walk/pages.js';
import { decideInto, WriteLedger, type LedgerOptions, type Ticket, type WriteGroup } from './ledger.js';
import type { PlanOptions } from './plan.js';
import type { FixOptions } from './types.js';
import { createTtlWriter, type Measure, type TtlWriter, type WriteResult } from './writer.js';

const EMPTY = Buffer.alloc(0);
const WHOLE = { start: 0, end: 1 };
/**
 * The share of a step's time budget its write is planned to take (the SCAN queued with it the
 * rest). Half: the server always has our next command queued, so smaller writes cost little
 * speed, and another client waits behind less (bench/README.md, fix: three quarters gave the
 * same speed with twice the concurrent p50).
 */
const WRITE_SHARE = 0.5;

export interface WriteStepOptions extends PlanOptions, LedgerOptions, Pick<FixOptions, 'beforeWrite'> {
  mode: 'standalone' | 'cluster';
  /** SCAN MATCH (one rule: unmatched keys are never touched anyway). */
  match?: string;
}

/** The keys of one page, decided: those a rule gives a TTL, and their ticket when there are any. */
interface Page {
  read: number;
  group: WriteGroup;
  ticket?: Ticket;
  /** Which of the keys get MEMORY USAGE (see byte-sample.ts). */
  measure: Measure;
}

/** Walks one node's databases with write steps, on the node's own connection `conn`. */
export class WriteSteps implements WalkSteps {
  readonly writer: TtlWriter;
  private readonly pages: Pages;
  private ledger: WriteLedger | undefined;

  constructor(
    readonly conn: Redis,
    private readonly o: WriteStepOptions,
  ) {
    this.writer = createTtlWriter(conn, { cluster: o.mode === 'cluster' });
    this.pages = new Pages({ match: o.match });
  }

  async walkDb(walk: WalkState, d: DbWalk): Promise<boolean> {
    const ledger = (this.ledger ??= new WriteLedger(walk, this.writer, this.o));
    const { db } = d;
    const cp = (cursor: string): NodeCheckpoint => ({ node: walk.address, db, cursor, done: false });
    // One record for all keys: neither decideKey nor the tally keeps it.
    const record: KeyRecord = { key: EMPTY, db, node: walk.address, type: 'unknown', ttlMs: TTL_UNKNOWN, bytes: UNMEASURED, length: UNMEASURED };
    const outcome = await this.pages.walk({ walk, stretch: WHOLE, tableKeys: d.tableKeys }, d.from ?? '0', {
      lag: 1,
      ahead: true,
      prepare: async (keys: Buffer[], next: string): Promise<Page> => {
        const group: WriteGroup = { keys: [], ttls: [], decisions: [] };
        for (const key of keys) {
          record.key = key;
          decideInto(group, record, this.o);
        }
        // Nothing to write: the checkpoint moves with the keys still waiting for an answer.
        if (group.keys.length === 0) {
          ledger.pass(cp(next));
          return { read: keys.length, group, measure: false };
        }
        const page: Page = { read: keys.length, group, measure: ledger.measure(group.decisions), ticket: ledger.open(db, group, cp(next)) };
        // Write-ahead: the `set` line is on disk before the call is sent.
        ledger.flush();
        await this.o.brake?.wait();
        await this.o.beforeWrite?.(group.keys);
        return page;
      },
      // Paced as if the write took twice as long: the SCAN queued with it runs back to back with
      // it, and the two together, not the write alone, are what another client waits behind.
      send: ({ group, ticket, measure }) =>
        ticket ? this.writer.write('NX', group.keys, group.ttls, measure).then((r) => ({ ...r, serverMs: r.serverMs && r.serverMs / WRITE_SHARE })) : undefined,
      handle: async (next, page: Page | undefined, result: WriteResult | undefined) => {
        if (!page) ledger.pass(cp(next));
        else if (page.ticket && result) {
          // --max-ttl: keys NX refused because they had a TTL get their LT write first.
          const lt = ledger.answered(page.ticket, page.group, result);
          if (lt) await ledger.shorten(page.ticket, db, lt);
        }
        d.progress(page?.read ?? 0, next === '0' ? 1 : cursorPosition(next));
        ledger.flush();
      },
    });
    const finished = outcome === true;
    if (finished) ledger.commit();
    return finished;
  }

  close(): void {
    this.ledger?.commit();
    this.ledger?.flush();
  }
}
