/**
 * The write side of `fix --apply` for one node. Keys arrive a SCAN page at a time and are
 * gathered into write calls sized to about `WRITE_CALL_MS` of server time each (measured by
 * the script itself), so one round trip carries a few hundred keys; one call is in flight
 * while the scanner reads the next pages. Writes go through their own connection, because
 * the scanner's connection moves from database to database with SELECT while keys wait here.
 *
 * Per call: the `set` journal line is written before it is sent, `done` after it is
 * answered, then the checkpoint of the last page it covers, in call order.
 */
import type { Redis } from 'ioredis';
import type { NodeCheckpoint } from '../keyspace/scanner.js';
import type { JournalWriter } from './journal.js';
import type { FixTally, KeyDecision } from './plan.js';
import type { ReplicaLagBrake } from './replica-lag.js';
import { createTtlWriter, type TtlWriter, type WriteMode, type WriteResult } from './writer.js';
import { ByteSample } from './byte-sample.js';

/** Server time one write call aims at: the latency guard's 1 ms budget. */
const WRITE_CALL_MS = 1;
const FAST_WRITE_CALL_MS = 3;
const MIN_KEYS = 20;
const MAX_KEYS = 2000;
const FIRST_KEYS = 100;
const CHECKPOINT_EVERY_MS = 250;

/** Keys of one or more SCAN pages of one database that a rule gives a TTL, with the TTL each gets. */
export interface WriteGroup {
  keys: Buffer[];
  ttls: number[];
  decisions: KeyDecision[];
}

export interface NodeWriterOptions {
  mode: 'standalone' | 'cluster';
  tally: FixTally;
  journal?: JournalWriter;
  brake?: ReplicaLagBrake;
  measure: boolean;
  maxTtlMs?: number;
  fast?: boolean;
  maxOps?: number;
  beforeWrite?(keys: Buffer[]): Promise<void>;
  /** A key was written but its bytes could not be measured (no MEMORY permission). */
  onUnmeasured(): void;
}

export class NodeWriter {
  private readonly writer: TtlWriter;
  private readonly sample = new ByteSample();
  private buffer: WriteGroup = { keys: [], ttls: [], decisions: [] };
  /** Page ends within the buffer (keys up to and including the page) and their checkpoints. */
  private marks: Array<{ end: number; cp: NodeCheckpoint }> = [];
  private bufferDb: number | undefined;
  private selectedDb = 0;
  private inflight: Array<Promise<void>> = [];
  /** Settles when the latest call has journaled its checkpoint: the next one waits for it. */
  private lastDone: Promise<void> = Promise.resolve();
  private perKeyMs: number | undefined;
  private size: number;
  private lastJournalAt = 0;

  constructor(
    private readonly node: string,
    private readonly conn: Redis,
    private readonly options: NodeWriterOptions,
  ) {
    this.writer = createTtlWriter(conn, { cluster: options.mode === 'cluster' });
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
    const now = performance.now();
    if (this.options.journal && now - this.lastJournalAt >= CHECKPOINT_EVERY_MS) {
      this.options.journal.write({ t: 'cp', cp });
      this.lastJournalAt = now;
    }
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
    const previous = this.lastDone;
    const call = this.write(group, this.node, db, cp, previous);
    this.lastDone = call.catch(() => undefined);
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

  close(): void {
    this.conn.disconnect();
  }

  /** After a failure elsewhere: let the calls in flight settle, without throwing. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inflight);
  }

  /**
   * PEXPIRE … NX for the group, MEMORY USAGE only of the keys it wrote; with --max-ttl, then
   * PEXPIRE … LT (after the script's PTTL check) for the keys NX refused.
   */
  private async write(group: WriteGroup, node: string, db: number, cp: NodeCheckpoint | undefined, previous: Promise<void>): Promise<void> {
    const { tally, maxTtlMs: cap } = this.options;
    const nx = await this.journaled('NX', group, node, db);
    const hadTtl: number[] = [];
    for (let i = 0; i < group.keys.length; i++) {
      tally.written(group.decisions[i], group.keys[i], nx.status[i], nx.bytes[i]);
      if (nx.status[i] === 'set' && nx.bytes[i] === -1 && this.options.measure) this.options.onUnmeasured();
      if (nx.status[i] === 'refused') hadTtl.push(i);
    }
    if (cap !== undefined && hadTtl.length > 0) {
      const decisions = hadTtl.map((i): KeyDecision => {
        const d = group.decisions[i];
        return { action: 'shorten', rule: d.rule!, ttlMs: cap };
      });
      const lt = await this.journaled('LT', { keys: hadTtl.map((i) => group.keys[i]), ttls: hadTtl.map(() => cap), decisions }, node, db);
      decisions.forEach((d, i) => tally.outcome(d, lt.status[i] === 'set', false));
    }
    // Checkpoints in call order: this cursor may only be journaled once every earlier call is answered.
    await previous;
    if (!cp) return;
    this.options.journal?.write({ t: 'cp', cp });
    this.lastJournalAt = performance.now();
  }

  /** One write call, between its `set` line (before) and its `done` line (after). */
  private async journaled(mode: WriteMode, group: WriteGroup, node: string, db: number): Promise<WriteResult> {
    const journal = this.options.journal;
    const b = journal?.nextBatch() ?? '';
    journal?.write({ t: 'set', b, node, db, at: Date.now(), op: mode === 'NX' ? 'nx' : 'lt', keys: group.keys.map((k) => k.toString('base64')), ttlMs: group.ttls, keysOnly: true });
    const measure = mode === 'NX' && this.options.measure ? this.sample.mask(group.decisions) : this.options.measure;
    const result = await this.writer.write(mode, group.keys, group.ttls, measure);
    const refused: number[] = [];
    for (let i = 0; i < result.status.length; i++) if (result.status[i] !== 'set') refused.push(i);
    journal?.write({ t: 'done', b, refused, ...(mode === 'NX' ? { exp: result.expiry } : {}) });
    if (mode === 'NX' && result.serverMs !== undefined) this.resize(result.serverMs, group.keys.length);
    return result;
  }

  /** Size the next call from a smoothed server time per key, like the scanner's pacer. */
  private resize(serverMs: number, keys: number): void {
    if (keys === 0 || serverMs <= 0) return;
    const perKey = serverMs / keys;
    this.perKeyMs = this.perKeyMs === undefined ? perKey : this.perKeyMs * 0.7 + perKey * 0.3;
    const target = this.options.fast ? FAST_WRITE_CALL_MS : WRITE_CALL_MS;
    this.size = this.cap(Math.min(target / this.perKeyMs, this.size * 2));
  }

  private cap(keys: number): number {
    // With --max-ops, no call covers more than a twentieth of a second of the budget.
    const opsCap = this.options.maxOps ? Math.max(MIN_KEYS, this.options.maxOps / 20) : MAX_KEYS;
    return Math.round(Math.min(Math.max(keys, MIN_KEYS), MAX_KEYS, opsCap));
  }
}
