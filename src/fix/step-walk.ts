/**
 * `fix --apply` where this user may run scripts: per node, one connection and one
 * fix-step.lua call in flight. A call first writes the keys decided from an earlier call's
 * pages, then reads the next pages for the rest of its time budget. The next call is sent
 * the moment a reply arrives, carrying the keys decided (and journaled) while that call ran,
 * so the server waits only a round trip between two calls, and decoding, deciding and
 * journaling happen while it works: a key is written two calls after the one that read it.
 * Each call reads one page, checked first with a plain SCAN so that no script meets a name
 * over HEAVY_NAME_BYTES (see `step`).
 *
 * Journal, per group (the keys one call read that a rule gives a TTL): `set` before the call
 * that writes them is sent, `done` after its reply, with the checkpoint of the group's last
 * page. Groups are answered in the order they were read, so a checkpoint always means every
 * key before it was decided and its write answered (with --max-ttl, its LT write too).
 */
import type { Redis } from 'ioredis';
import { cursorPosition } from '../keyspace/cursor.js';
import { Pacer, type PaceOptions } from '../keyspace/pace.js';
import { TTL_UNKNOWN, UNMEASURED, type KeyRecord } from '../keyspace/record.js';
import type { NodeCheckpoint } from '../keyspace/scanner.js';
import { permissionFailure } from '../target/errors.js';
import type { JournalLine, JournalWriter } from './journal.js';
import { decideKey, type FixTally, type KeyDecision, type PlanOptions } from './plan.js';
import type { ReplicaLagBrake } from './replica-lag.js';
import { NO_WRITES, packKeys, StepScript, unpackKeys, type PackedKeys, type StepReply } from './step-script.js';
import { HEAVY_NAME_BYTES } from '../keyspace/inspect-commands.js';
import { NAME_BYTES_PER_CALL } from '../keyspace/inspect.js';
import { createTtlWriter, decodeWriteReply, mergeWrites, type Measure, type TtlWriter, type WriteResult } from './writer.js';
import { ByteSample } from './byte-sample.js';

/** A checkpoint alone (steps that read nothing to write) is journaled at most this often. */
const CHECKPOINT_EVERY_MS = 250;
/** Server time a key read costs when written (PEXPIRE … NX, MEMORY USAGE), until measured. */
const FIRST_WRITE_MS_PER_KEY = 0.003;
const EMPTY = Buffer.alloc(0);
/** A step reads one page, about as many buckets as the pages it read in its budget before. */
const PAGES_PER_CALL = 3;

export interface StepWalkOptions extends PaceOptions, PlanOptions {
  mode: 'standalone' | 'cluster';
  tally: FixTally;
  journal?: JournalWriter;
  measure: boolean;
  /** SCAN MATCH (one rule: unmatched keys are never touched anyway). */
  match?: string;
  signal: AbortSignal;
  beforeWrite?(keys: Buffer[]): Promise<void>;
  /** A key was written but its bytes could not be measured (no MEMORY permission). */
  onUnmeasured(): void;
}

/** One node to walk: its step connection, latency probe, brake, and databases. */
export interface StepNode {
  address: string;
  conn: Redis;
  probe?: Redis;
  brake?: ReplicaLagBrake;
  dbs: number[];
  resume?: NodeCheckpoint;
  /** Keys read so far on this node, and the fraction of its walk done. */
  onProgress(keysSeen: number, ratio: number): void;
}

export interface StepNodeResult {
  complete: boolean;
  checkpoint: NodeCheckpoint;
}

/** The keys one step read that a rule gives a TTL, and where that step stopped. */
interface Group {
  b: string;
  keys: Buffer[];
  ttls: number[];
  decisions: KeyDecision[];
  packed: PackedKeys;
  /** Which of the keys get MEMORY USAGE (see byte-sample.ts). */
  measure: Measure;
  /** Keys the step read (written or not): the write's cost is estimated per key read. */
  read: number;
  /** SCAN COUNT the step asked for in all. */
  buckets: number;
  /** Journaled once this group, and every one read before it, is answered. */
  cp: NodeCheckpoint;
}

/** Keys NX refused that --max-ttl shortens (PEXPIRE … LT), and the checkpoint waiting for them. */
interface Shorten {
  keys: Buffer[];
  decisions: KeyDecision[];
  db: number;
  cp: NodeCheckpoint;
}

interface Sent {
  reply: Promise<StepReply>;
  pageCount: number;
}

/** Walks one node's databases with fix-step.lua. */
export class NodeStepper {
  private readonly script: StepScript;
  private readonly lt: TtlWriter;
  private readonly pacer: Pacer;
  private readonly sample = new ByteSample();
  private writeMsPerKey = FIRST_WRITE_MS_PER_KEY;
  /** Recent peak of key-name bytes per SCAN bucket on this node; unknown until the first page. */
  private bytesPerBucket: number | undefined;
  private keysSeen = 0;
  /** The latest checkpoint whose keys are all answered, and whether the journal has it. */
  private checkpoint: NodeCheckpoint;
  private journaled = true;
  private journaledAt = -Infinity;
  /** Journal lines of one step, written with one write(2) before the next call is sent. */
  private lines: JournalLine[] = [];

  constructor(
    private readonly node: StepNode,
    private readonly o: StepWalkOptions,
  ) {
    this.script = new StepScript(node.conn);
    this.lt = createTtlWriter(node.conn, { cluster: o.mode === 'cluster' });
    this.pacer = new Pacer(o);
    if (node.probe) this.pacer.watch(node.probe);
    this.checkpoint = { node: node.address, db: node.dbs[0], cursor: '0', done: false };
  }

  async run(): Promise<StepNodeResult> {
    const { dbs, resume } = this.node;
    try {
      for (const [index, db] of dbs.entries()) {
        if (resume && (resume.done || db < resume.db)) continue;
        if (this.o.signal.aborted) return { complete: false, checkpoint: this.checkpoint };
        if (this.o.mode === 'standalone') await this.node.conn.select(db);
        const finished = await this.walk(db, index, resume && db === resume.db ? resume.cursor : '0');
        if (!finished) return { complete: false, checkpoint: this.checkpoint };
        if (!this.journaled) this.reached(this.checkpoint, true);
      }
      return { complete: true, checkpoint: { node: this.node.address, db: dbs[dbs.length - 1], cursor: '0', done: true } };
    } finally {
      this.pacer.stop();
      if (!this.journaled) this.log({ t: 'cp', cp: this.checkpoint });
      this.flush();
    }
  }

  /** Walk one database from `from`; false when stopped (Ctrl-C) before its end. */
  private async walk(db: number, dbIndex: number, from: string): Promise<boolean> {
    let reading = true;
    let finished = false;
    let carried: Group | undefined; // its writes are in the call in flight
    let pending: Group | undefined; // decided and journaled; the next call writes it
    let shorten: Shorten | undefined;
    let sent: Sent | undefined = await this.send(from, undefined);
    while (sent) {
      const reply: StepReply = await sent.reply;
      if (reply.next === '0') finished = true;
      if (reply.next === undefined || reply.next === '0' || this.o.signal.aborted) reading = false;
      // One call in flight: an LT write waits for the step before it, the next step for it.
      if (shorten) shorten = await this.shorten(shorten);
      const answered = carried;
      carried = pending;
      pending = undefined;
      // The next call goes first; everything below runs while the server works on it.
      const previous = sent;
      sent = reading || carried ? await this.send(reading ? reply.next : undefined, carried) : undefined;
      if (answered) shorten = this.answered(answered, reply.writes(), reply.writeMs, db);
      const group = reply.next !== undefined ? this.decide(reply, db, reply.pages * previous.pageCount) : undefined;
      // Paced by the write's server time (the script's own clock) per SCAN bucket (COUNT, which
      // a sparse MATCH does not turn into keys) of the step that read those keys: the write is
      // most of a step's work, and the SCAN beside it is a plain command without that clock.
      this.pacer.record(answered && reply.writeMs > 0 ? reply.writeMs : 0, group?.read ?? 0, answered?.buckets ?? 0);
      if (group) {
        this.keysSeen += group.read;
        this.node.onProgress(this.keysSeen, (dbIndex + (group.cp.cursor === '0' ? 1 : cursorPosition(group.cp.cursor))) / this.node.dbs.length);
        if (group.keys.length > 0) pending = group;
        // Nothing to write: the checkpoint moves with the keys still waiting for an answer.
        else if (carried) carried.cp = group.cp;
        else if (shorten) shorten.cp = group.cp;
        else this.reached(group.cp, false);
      }
      if (!sent && pending) {
        carried = pending;
        pending = undefined;
        sent = await this.send(undefined, carried);
      }
      this.flush();
    }
    if (shorten) await this.shorten(shorten);
    return finished;
  }

  /** Wait for the guard, the ops cap and the replica-lag brake, then send one step. */
  private async send(cursor: string | undefined, group: Group | undefined): Promise<Sent> {
    // Write-ahead: the `set` line of the keys this call writes is on disk before it is sent.
    this.flush();
    await this.pacer.wait();
    await this.node.brake?.wait();
    if (group) await this.o.beforeWrite?.(group.keys);
    const plan = this.pacer.nextCall('fixed');
    // One page per call, as large as the pages the call would have read in its budget, and
    // bounded by the bytes of names its buckets brought back so far.
    const byBytes = this.bytesPerBucket === undefined ? 16 : Math.floor((NAME_BYTES_PER_CALL * 0.75) / Math.max(this.bytesPerBucket, 1));
    const pageCount = Math.max(1, Math.min(Math.round(plan.pageCount * (plan.budgetMs > 0 ? PAGES_PER_CALL : 1)), byBytes, plan.maxKeys || Infinity));
    const reply = this.step(cursor, group, pageCount).catch((err: unknown) => Promise.reject(permissionFailure(err, this.node.address) ?? err));
    // Awaited in order by walk(); never an unhandled rejection meanwhile.
    reply.catch(() => undefined);
    return { reply, pageCount };
  }

  /**
   * One step without a heavy name ever handed to a script: the page is read with a plain
   * SCAN (a fraction of a millisecond even when it returns 1 MB names; a script merely
   * receiving one from its own SCAN spends milliseconds making a Lua string of it), sent
   * together with the script call that writes the keys decided before, which reads nothing.
   * Two commands, back to back on one connection: one round trip, and another client may run
   * between them. Keys with heavy names are written apart, each in a MULTI/EXEC of its own
   * that reads its PEXPIRETIME, so the journal records the same answers either way.
   */
  private async step(cursor: string | undefined, group: Group | undefined, pageCount: number): Promise<StepReply> {
    const started = performance.now();
    const heavy = group ? group.keys.flatMap((k, i) => (k.length > HEAVY_NAME_BYTES ? [i] : [])) : [];
    let writes = group?.packed ?? NO_WRITES;
    let measure: Measure = this.o.measure && (group?.measure ?? true);
    let light: number[] = [];
    if (group && heavy.length > 0) {
      light = group.keys.flatMap((k, i) => (k.length > HEAVY_NAME_BYTES ? [] : [i]));
      writes = packKeys(
        light.map((i) => group.keys[i]),
        light.map((i) => group.ttls[i]),
      );
      const mask = measure;
      if (typeof mask === 'string') measure = light.map((i) => mask[i]).join('');
    }
    const args: Array<string | number> = [cursor ?? '0', 'COUNT', pageCount];
    if (this.o.match) args.push('MATCH', this.o.match);
    // Both commands in one write(2): on loopback the sender's syscall also delivers the data
    // and wakes the server, and two per step cost this process more CPU than the step's keys.
    const stream = this.node.conn.status === 'ready' ? this.node.conn.stream : undefined;
    stream?.cork();
    const scan = cursor !== undefined ? (this.node.conn.callBuffer('SCAN', ...args) as Promise<[Buffer, Buffer[]]>) : undefined;
    scan?.catch(() => undefined);
    const call =
      writes.count > 0
        ? this.script.step({ cursor: undefined, pageCount, budgetMs: 0, maxKeys: 0, match: this.o.match, writeMsPerKey: this.writeMsPerKey, measure, writes })
        : undefined;
    call?.catch(() => undefined);
    stream?.uncork();
    const heavyWrite = group && heavy.length > 0 ? this.lt.write('NX', heavy.map((i) => group.keys[i]), heavy.map((i) => group.ttls[i]), this.o.measure) : undefined;
    heavyWrite?.catch(() => undefined);
    const [page, written, heavyResult] = await Promise.all([scan, call, heavyWrite]);
    if (page) {
      const bytes = page[1].reduce((sum, k) => sum + k.length, 0);
      this.bytesPerBucket = Math.max(bytes / pageCount, (this.bytesPerBucket ?? 0) * 0.9);
    }
    const count = group?.keys.length ?? 0;
    const lightWrites = written ? written.writes : () => decodeWriteReply('', 0);
    return {
      writes: () => (heavyResult ? mergeWrites(count, [light, lightWrites()], [heavy, heavyResult]) : lightWrites()),
      next: page ? page[0].toString() : undefined,
      keys: page && page[1].length > 0 ? packKeys(page[1], page[1].map(() => 0)).blob : EMPTY,
      // Without the script's clock for the SCAN, the round trip counts: only more careful pacing.
      serverMs: performance.now() - started,
      writeMs: written?.writeMs ?? 0,
      pages: page ? 1 : 0,
    };
  }

  /** Decide the keys a step read; journal the ones to write before any call carries them. */
  private decide(reply: StepReply, db: number, buckets: number): Group {
    const { tally, journal } = this.o;
    const read = unpackKeys(reply.keys);
    const group: Group = { b: '', keys: [], ttls: [], decisions: [], packed: NO_WRITES, measure: true, read: read.length, buckets, cp: { node: this.node.address, db, cursor: reply.next!, done: false } };
    // One record for all keys: neither decideKey nor the tally keeps it.
    const record: KeyRecord = { key: EMPTY, db, node: this.node.address, type: 'unknown', ttlMs: TTL_UNKNOWN, bytes: UNMEASURED, length: UNMEASURED };
    for (const key of read) {
      record.key = key;
      const d = decideKey(record, tally.matcher.match(key), this.o);
      tally.plan(record, d);
      if (d.action !== 'expire') continue;
      group.keys.push(key);
      group.ttls.push(d.ttlMs);
      group.decisions.push(d);
    }
    if (group.keys.length === 0) return group;
    group.packed = packKeys(group.keys, group.ttls, { packed: reply.keys, count: read.length });
    group.measure = this.sample.mask(group.decisions);
    if (journal) {
      group.b = journal.nextBatch();
      this.log({ t: 'set', b: group.b, node: this.node.address, db, at: Date.now(), op: 'nx', keys: group.keys.map((k) => k.toString('base64')), ttlMs: group.ttls, keysOnly: true });
    }
    return group;
  }

  /** Count a group's answers; its checkpoint now, or after the LT write --max-ttl adds. */
  private answered(group: Group, result: WriteResult, writeMs: number, db: number): Shorten | undefined {
    const { tally, measure, maxTtlMs: cap } = this.o;
    if (group.read > 0 && writeMs > 0) this.writeMsPerKey = this.writeMsPerKey * 0.7 + (writeMs / group.read) * 0.3;
    const refused: number[] = [];
    for (let i = 0; i < group.keys.length; i++) {
      const status = result.status[i];
      tally.written(group.decisions[i], group.keys[i], status, result.bytes[i]);
      if (status === 'set' && result.bytes[i] === -1 && measure) this.o.onUnmeasured();
      if (status !== 'set') refused.push(i);
    }
    const done: JournalLine = { t: 'done', b: group.b, refused, exp: result.expiry };
    const hadTtl = refused.filter((i) => result.status[i] === 'refused');
    if (cap === undefined || hadTtl.length === 0) {
      this.reached(group.cp, true, done);
      return undefined;
    }
    this.log(done);
    const decisions = hadTtl.map((i): KeyDecision => ({ action: 'shorten', rule: group.decisions[i].rule!, ttlMs: cap }));
    return { keys: hadTtl.map((i) => group.keys[i]), decisions, db, cp: group.cp };
  }

  /** --max-ttl: PEXPIRE … LT (fix-expire.lua checks PTTL first) for keys that had a TTL. */
  private async shorten(s: Shorten): Promise<undefined> {
    const { journal, tally, maxTtlMs } = this.o;
    const ttls = s.keys.map(() => maxTtlMs!);
    const b = journal?.nextBatch() ?? '';
    await this.node.brake?.wait();
    this.log({ t: 'set', b, node: this.node.address, db: s.db, at: Date.now(), op: 'lt', keys: s.keys.map((k) => k.toString('base64')), ttlMs: ttls, keysOnly: true });
    this.flush();
    const result = await this.lt.write('LT', s.keys, ttls, false);
    s.decisions.forEach((d, i) => tally.outcome(d, result.status[i] === 'set', false));
    const refused = result.status.flatMap((st, i) => (st === 'set' ? [] : [i]));
    this.reached(s.cp, true, { t: 'done', b, refused });
    return undefined;
  }

  /** Every key before `cp` is answered: journal it (with `done`), or now and then when alone. */
  private reached(cp: NodeCheckpoint, now: boolean, done?: JournalLine): void {
    this.checkpoint = cp;
    const journal = this.o.journal;
    const at = performance.now();
    if (!journal || (!now && at - this.journaledAt < CHECKPOINT_EVERY_MS)) {
      this.journaled = !journal;
      return;
    }
    this.log(...(done ? [done] : []), { t: 'cp', cp });
    this.journaled = true;
    this.journaledAt = at;
  }

  private log(...lines: JournalLine[]): void {
    if (this.o.journal) this.lines.push(...lines);
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    this.o.journal!.write(...this.lines);
    this.lines = [];
  }
}
