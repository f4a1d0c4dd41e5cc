/**
 * Write steps without scripts (`fix --apply` where this user may not run EVAL): a keys-only
 * SCAN walk (read steps), rules matched here, and every key a rule gives a TTL sent through
 * the node's NodeWriter as pipelined PEXPIRE … NX.
 *
 * The NodeWriter is the write side for one node. Keys arrive a SCAN page at a time and are
 * gathered into write calls sized to about `WRITE_CALL_MS` of server time each (measured by
 * the script itself), so one round trip carries a few hundred keys; one call is in flight
 * while the scanner reads the next pages. Writes go through their own connection, because
 * the scanner's connection moves from database to database with SELECT while keys wait here.
 *
 * Per call: the `set` journal line is written before it is sent, `done` after it is
 * answered, then the checkpoint of the last page it covers, in call order.
 */
import type { Redis } from 'ioredis';
import { keysOnly } from '../keyspace/inspect.js';
import type { KeyRecord } from '../keyspace/record.js';
import type { DbWalk, NodeCheckpoint, WalkState, WalkSteps } from '../keyspace/walk/node-walk.js';
import { ReadSteps } from '../keyspace/walk/read-steps.js';
import { smooth } from '../keyspace/pace.js';
import { decideInto, WriteLedger, type LedgerOptions, type WriteGroup } from './ledger.js';
import type { PlanOptions } from './plan.js';
import { createTtlWriter } from './writer.js';

/** Server time one write call aims at: the latency guard's 1 ms budget. */
const WRITE_CALL_MS = 1;
const FAST_WRITE_CALL_MS = 3;
const MIN_KEYS = 20;
const MAX_KEYS = 2000;
const FIRST_KEYS = 100;

export interface NodeWriterOptions extends LedgerOptions {
  mode: 'standalone' | 'cluster';
  fast?: boolean;
  maxOps?: number;
  beforeWrite?(keys: Buffer[]): Promise<void>;
}

export interface PipelineStepOptions extends NodeWriterOptions, PlanOptions {
  /** SCAN MATCH (one rule: unmatched keys are never touched anyway). */
  match?: string;
}

export class PipelineSteps implements WalkSteps {
  readonly writer: NodeWriter;
  private readonly reads: ReadSteps;

  constructor(
    address: string,
    conn: Redis,
    private readonly o: PipelineStepOptions,
  ) {
    this.writer = new NodeWriter(address, conn, o);
    const onBatch = (records: KeyRecord[], cp: NodeCheckpoint) => this.take(records, cp);
    this.reads = new ReadSteps(keysOnly, { match: o.match, fast: o.fast, onBatch });
  }

  walkDb(walk: WalkState, db: DbWalk): Promise<boolean> {
    return this.reads.walkDb(walk, db);
  }

  private async take(records: KeyRecord[], cp: NodeCheckpoint): Promise<void> {
    const group: WriteGroup = { keys: [], ttls: [], decisions: [] };
    for (const r of records) decideInto(group, r, this.o);
    if (group.keys.length === 0) await this.writer.idle(cp);
    else await this.writer.add(group, cp);
  }
}

export class NodeWriter {
  private readonly ledger: WriteLedger;
  private buffer: WriteGroup = { keys: [], ttls: [], decisions: [] };
  /** Page ends within the buffer (keys up to and including the page) and their checkpoints. */
  private marks: Array<{ end: number; cp: NodeCheckpoint }> = [];
  private bufferDb: number | undefined;
  private selectedDb = 0;
  private inflight: Array<Promise<void>> = [];
  private perKeyMs: number | undefined;
  private size: number;

  constructor(
    node: string,
    private readonly conn: Redis,
    private readonly options: NodeWriterOptions,
  ) {
    const writer = createTtlWriter(conn, { cluster: options.mode === 'cluster' });
    this.ledger = new WriteLedger({ address: node, checkpoint: { node, db: 0, cursor: '0', done: false } }, writer, options);
    this.size = this.cap(FIRST_KEYS);
  }
  /** Keys of one SCAN page to write; the page's checkpoint is journaled once they are answered. */
  async add(group: WriteGroup, cp: NodeCheckpoint): Promise<void> {
    if (this.buffer.keys.length > 0 && this.bufferDb !== cp.db) await this.flushAll();
    this.buffer.keys.push(...group.keys);
    this.buffer.ttls.push(...group.ttls);
    this.buffer.decisions.push(...group.decisions);
    this.bufferDb = cp.db;
    this.marks.push({ end: this.buffer.keys.length, cp });
    while (this.buffer.keys.length >= this.size) await this.flush();
  }

  /** A page with nothing to write: its checkpoint, now and then, once nothing is pending. */
  async idle(cp: NodeCheckpoint): Promise<void> {
    if (this.buffer.keys.length > 0) {
      if (this.bufferDb === cp.db) {
        // Waiting keys: the checkpoint moves with them (their call journals the later cursor).
        this.marks.push({ end: this.buffer.keys.length, cp });
        return;
      }
      await this.flushAll();
    }
    await this.drain();
    this.ledger.pass(cp);
    this.ledger.flush();
  }

  /**
   * Send up to one call's worth of what is gathered, waiting first while a call is in
   * flight or a replica lags. The call carries the checkpoint of the last page it completes.
   */
  async flush(): Promise<void> {
    const db = this.bufferDb;
    if (this.buffer.keys.length === 0 || db === undefined) return;
    const n = Math.min(this.buffer.keys.length, this.size);
    const group: WriteGroup = { keys: this.buffer.keys.splice(0, n), ttls: this.buffer.ttls.splice(0, n), decisions: this.buffer.decisions.splice(0, n) };
    // The checkpoint of the last page this call completes (none if it ends mid-page).
    let cp: NodeCheckpoint | undefined;
    while (this.marks.length > 0 && this.marks[0].end <= n) cp = this.marks.shift()!.cp;
    for (const m of this.marks) m.end -= n;
    // One call in flight: the guard reads a concurrent client's latency, and back-to-back
    // calls would leave it no gap (measured: two in flight ran slower, paused by the guard).
    while (this.inflight.length > 0) await this.inflight.shift();
    await this.options.brake?.wait();
    await this.options.beforeWrite?.(group.keys);
    if (this.options.mode === 'standalone' && this.selectedDb !== db) {
      await this.conn.select(db);
      this.selectedDb = db;
    }
    // Tickets keep the checkpoints in call order: a cursor is journaled once every earlier call is answered.
    const ticket = this.ledger.open(db, group);
    ticket.cp = cp;
    const call = this.ledger.write(ticket, db, group).then((nx) => {
      if (nx.serverMs !== undefined) this.resize(nx.serverMs, group.keys.length);
    });
    // Surfaced by the next await of it; never an unhandled rejection meanwhile.
    call.catch(() => undefined);
    this.inflight.push(call);
  }

  /** Wait for every call in flight (rejects with the first failure). */
  async drain(): Promise<void> {
    while (this.inflight.length > 0) await this.inflight.shift();
  }

  /** Flush what is gathered and wait for everything. */
  async finish(): Promise<void> {
    await this.flushAll();
    await this.drain();
  }

  private async flushAll(): Promise<void> {
    while (this.buffer.keys.length > 0) await this.flush();
  }

  /** After a failure elsewhere: let the calls in flight settle, without throwing. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inflight);
  }

  /** Size the next call from a smoothed server time per key, like the scanner's pacer. */
  private resize(serverMs: number, keys: number): void {
    if (keys === 0 || serverMs <= 0) return;
    const perKey = serverMs / keys;
    this.perKeyMs = smooth(this.perKeyMs, perKey);
    const target = this.options.fast ? FAST_WRITE_CALL_MS : WRITE_CALL_MS;
    this.size = this.cap(Math.min(target / this.perKeyMs, this.size * 2));
  }

  private cap(keys: number): number {
    // With --max-ops, no call covers more than a twentieth of a second of the budget.
    const opsCap = this.options.maxOps ? Math.max(MIN_KEYS, this.options.maxOps / 20) : MAX_KEYS;
    return Math.round(Math.min(Math.max(keys, MIN_KEYS), MAX_KEYS, opsCap));
  }
}
