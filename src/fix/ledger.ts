/**
 * The journaled writes of one node: a `set` line before a batch is sent, its `done` line (the
 * server's answers and expiries) after, and a checkpoint only once every key read before it
 * is answered: batches are ticketed in the order their keys were read and their checkpoints
 * journaled in that order. Keys NX refused because they had a TTL get, with --max-ttl, their
 * LT write before the batch counts as answered. Lines are gathered and written with one
 * write(2) at `flush`, which the write steps call before they send a call (write-ahead) and
 * after each reply.
 */
import type { KeyRecord } from '../keyspace/record.js';
import type { NodeCheckpoint, WalkState } from '../keyspace/walk/node-walk.js';
import type { JournalLine, JournalWriter } from './journal.js';
import { decideKey, type FixTally, type KeyDecision, type PlanOptions } from './plan.js';
import type { ReplicaLagBrake } from './replica-lag.js';
import { ByteSample } from './byte-sample.js';
import type { Measure, TtlWriter, WriteMode, WriteResult } from './writer.js';

/** A checkpoint alone (steps that read nothing to write) is journaled at most this often. */
const CHECKPOINT_EVERY_MS = 250;

/** Keys a rule gives a TTL, the TTL each gets, and the decision behind it. */
export interface WriteGroup {
  keys: Buffer[];
  ttls: number[];
  decisions: KeyDecision[];
}

export interface LedgerOptions {
  tally: FixTally;
  journal?: JournalWriter;
  measure: boolean;
  /** `--max-ttl`: keys NX refused because they had a TTL get PEXPIRE … LT to this. */
  maxTtlMs?: number;
  brake?: ReplicaLagBrake;
  /** A key was written but its bytes could not be measured (no MEMORY permission). */
  onUnmeasured(): void;
}

/** A batch of writes in read order; the checkpoints that wait for its answer. */
export interface Ticket {
  b: string;
  answered: boolean;
  cp: NodeCheckpoint;
}

/** Decide one key read: the tally counts it, and a key a rule gives a TTL joins `group`. */
export function decideInto(group: WriteGroup, record: KeyRecord, o: PlanOptions & { tally: FixTally }): void {
  const d = decideKey(record, o.tally.matcher.match(record.key), o);
  o.tally.plan(record, d);
  if (d.action !== 'expire') return;
  group.keys.push(record.key);
  group.ttls.push(d.ttlMs);
  group.decisions.push(d);
}

export class WriteLedger {
  private readonly queue: Ticket[] = [];
  private readonly sample = new ByteSample();
  private lines: JournalLine[] = [];
  /** The latest checkpoint whose keys are all answered, until the journal has it. */
  private unjournaled: NodeCheckpoint | undefined;
  private journaledAt = -Infinity;

  constructor(
    private readonly walk: Pick<WalkState, 'address' | 'checkpoint'>,
    private readonly writer: TtlWriter,
    private readonly o: LedgerOptions,
  ) {}

  /** Which of a group's keys its PEXPIRE … NX call measures with MEMORY USAGE (byte-sample.ts), in the order they are sent. */
  measure(decisions: KeyDecision[]): Measure {
    return this.o.measure && this.sample.mask(decisions);
  }

  /** A batch read now, to be written later: its `set` line is journaled at the next flush, `cp` once it is answered. */
  open(db: number, group: Pick<WriteGroup, 'keys' | 'ttls'>, cp: NodeCheckpoint): Ticket {
    const ticket: Ticket = { b: this.set('NX', db, group), answered: false, cp };
    this.queue.push(ticket);
    return ticket;
  }

  private set(mode: WriteMode, db: number, group: Pick<WriteGroup, 'keys' | 'ttls'>): string {
    const b = this.o.journal?.nextBatch() ?? '';
    this.log({
      t: 'set',
      b,
      node: this.walk.address,
      db,
      at: Date.now(),
      op: mode === 'NX' ? 'nx' : 'lt',
      keys: group.keys.map((k) => k.toString('base64')),
      ttlMs: group.ttls,
      keysOnly: true,
    });
    return b;
  }

  /** Keys read with nothing to write: the checkpoint moves with the keys still waiting for an answer. */
  pass(cp: NodeCheckpoint): void {
    const last = this.queue.at(-1);
    if (last) last.cp = cp;
    else this.reached(cp, false);
  }

  /**
   * Count the answers to a group's PEXPIRE … NX and journal its `done`. Returns the group of
   * keys that had a TTL, which --max-ttl shortens (`shorten`) before the ticket is answered.
   */
  answered(ticket: Ticket, group: WriteGroup, result: WriteResult): WriteGroup | undefined {
    const { tally, measure, maxTtlMs: cap } = this.o;
    const refused: number[] = [];
    const hadTtl: number[] = [];
    for (let i = 0; i < group.keys.length; i++) {
      const status = result.status[i];
      tally.written(group.decisions[i], group.keys[i], status, result.bytes[i]);
      // -1: MEMORY refused (no permission); keys left out of the sample are NOT_SAMPLED.
      if (status === 'set' && result.bytes[i] === -1 && measure) this.o.onUnmeasured();
      if (status !== 'set') refused.push(i);
      if (status === 'refused') hadTtl.push(i);
    }
    this.log({ t: 'done', b: ticket.b, refused, exp: result.expiry });
    if (cap === undefined || hadTtl.length === 0) {
      this.settle(ticket);
      return undefined;
    }
    return {
      keys: hadTtl.map((i) => group.keys[i]),
      ttls: hadTtl.map(() => cap),
      decisions: hadTtl.map((i): KeyDecision => ({ action: 'shorten', rule: group.decisions[i].rule!, ttlMs: cap })),
    };
  }

  /** --max-ttl: PEXPIRE … LT (fix-expire.lua checks PTTL first) for keys that had a TTL; then `ticket` is answered. */
  async shorten(ticket: Ticket, db: number, s: WriteGroup): Promise<void> {
    await this.o.brake?.wait();
    const b = this.set('LT', db, s);
    this.flush();
    const result = await this.writer.write('LT', s.keys, s.ttls, false);
    s.decisions.filter((_, i) => result.status[i] === 'set').forEach((d) => this.o.tally.shortened(d));
    this.log({ t: 'done', b, refused: result.status.flatMap((st, i) => (st === 'set' ? [] : [i])) });
    this.settle(ticket);
  }

  /** A ticket is answered: the checkpoints of every answered ticket at the front of the queue are reached. */
  private settle(ticket: Ticket): void {
    ticket.answered = true;
    let cp: NodeCheckpoint | undefined;
    while (this.queue.length > 0 && this.queue[0].answered) cp = this.queue.shift()!.cp;
    if (cp) this.reached(cp, true);
  }

  /** Every key before `cp` is answered: journal it now, or now and then when alone. */
  private reached(cp: NodeCheckpoint, now: boolean): void {
    this.walk.checkpoint = cp;
    this.unjournaled = cp;
    if (now || performance.now() - this.journaledAt >= CHECKPOINT_EVERY_MS) this.commit();
  }

  /** Journal the latest checkpoint if it is not yet (a database ends, the walk ends). */
  commit(): void {
    if (!this.unjournaled) return;
    this.log({ t: 'cp', cp: this.unjournaled });
    this.unjournaled = undefined;
    this.journaledAt = performance.now();
  }

  private log(...lines: JournalLine[]): void {
    if (this.o.journal) this.lines.push(...lines);
  }

  /** Write the gathered lines with one write(2). */
  flush(): void {
    if (this.lines.length === 0) return;
    this.o.journal!.write(...this.lines);
    this.lines = [];
  }
}
