/**
 * Write steps by fix-step.lua (`fix --apply` where this user may run scripts): per node, one
 * connection and one step in flight. A step is a plain SCAN of the next page sent in the same
 * write(2) as a fix-step.lua call that writes the keys decided from an earlier page. The next
 * step is sent the moment a reply arrives, carrying the keys decided (and journaled) while the
 * last one ran, so the server waits only a round trip between steps, and decoding, deciding
 * and journaling happen while it works: a key is written two steps after the one that read it.
 * No script is handed a name over HEAVY_NAME_BYTES (see `step`). Each group (the keys one
 * step read that a rule gives a TTL) is journaled by the ledger.
 */
import type { Redis } from 'ioredis';
import { cursorPosition, scanPage } from '../keyspace/cursor.js';
import { HEAVY_NAME_BYTES } from '../keyspace/inspect-commands.js';
import { NAME_BYTES_PER_CALL } from '../keyspace/inspect.js';
import { TTL_UNKNOWN, UNMEASURED, type KeyRecord } from '../keyspace/record.js';
import type { DbWalk, NodeCheckpoint, WalkState, WalkSteps } from '../keyspace/walk/node-walk.js';
import { permissionFailure } from '../target/errors.js';
import { smooth } from '../keyspace/pace.js';
import { decideInto, WriteLedger, type LedgerOptions, type Ticket, type WriteGroup } from './ledger.js';
import type { PlanOptions } from './plan.js';
import { NO_WRITES, packKeys, StepScript, unpackKeys, type PackedKeys, type StepReply } from './step-script.js';
import { createTtlWriter, decodeWriteReply, mergeWrites, type Measure, type TtlWriter } from './writer.js';

/** Server time a key read costs when written (PEXPIRE … NX, MEMORY USAGE), until measured. */
const FIRST_WRITE_MS_PER_KEY = 0.003;
const EMPTY = Buffer.alloc(0);
/** A step reads one page, about as many buckets as the pages it read in its budget before. */
const PAGES_PER_CALL = 3;

export interface ScriptStepOptions extends PlanOptions, LedgerOptions {
  mode: 'standalone' | 'cluster';
  /** SCAN MATCH (one rule: unmatched keys are never touched anyway). */
  match?: string;
  beforeWrite?(keys: Buffer[]): Promise<void>;
}

/** The keys one step read that a rule gives a TTL, and where that step stopped. */
interface Group extends WriteGroup {
  ticket?: Ticket;
  packed: PackedKeys;
  /** Which of the keys get MEMORY USAGE (see byte-sample.ts). */
  measure: Measure;
  /** Keys the step read (written or not): the write's cost is estimated per key read. */
  read: number;
  /** SCAN COUNT the step that read the keys asked for in all. */
  buckets: number;
  cp: NodeCheckpoint;
}

interface Sent {
  reply: Promise<StepReply>;
  pageCount: number;
}

/** Walks one node's databases with fix-step.lua, on the node's own connection `conn`. */
export class ScriptSteps implements WalkSteps {
  private readonly script: StepScript;
  private readonly lt: TtlWriter;
  private ledger!: WriteLedger;
  private writeMsPerKey = FIRST_WRITE_MS_PER_KEY;
  /** Recent peak of key-name bytes per SCAN bucket on this node; unknown until the first page. */
  private bytesPerBucket: number | undefined;
  private walk!: WalkState;

  constructor(
    readonly conn: Redis,
    private readonly o: ScriptStepOptions,
  ) {
    this.script = new StepScript(conn);
    this.lt = createTtlWriter(conn, { cluster: o.mode === 'cluster' });
  }

  async walkDb(walk: WalkState, d: DbWalk): Promise<boolean> {
    this.walk = walk;
    this.ledger ??= new WriteLedger(walk, this.lt, this.o);
    if (walk.stopped.aborted) return false;
    const finished = await this.walkFrom(d, d.from ?? '0');
    if (finished) this.ledger.commit();
    return finished;
  }

  close(): void {
    this.ledger?.commit();
    this.ledger?.flush();
  }

  /** Walk one database from `from`; false when stopped (Ctrl-C) before its end. */
  private async walkFrom(d: DbWalk, from: string): Promise<boolean> {
    const { db } = d;
    const { pacer, stopped } = this.walk;
    let reading = true;
    let finished = false;
    let carried: Group | undefined; // its writes are in the call in flight
    let pending: Group | undefined; // decided and journaled; the next call writes it
    let shorten: (() => Promise<void>) | undefined; // --max-ttl: the LT write of keys NX refused, before their ticket is answered
    let sent: Sent | undefined = await this.send(from, undefined);
    while (sent) {
      const reply: StepReply = await sent.reply;
      if (reply.next === '0') finished = true;
      if (reply.next === undefined || reply.next === '0' || stopped.aborted) reading = false;
      // One call in flight: an LT write waits for the step before it, the next step for it.
      await shorten?.();
      shorten = undefined;
      const answered = carried;
      carried = pending;
      pending = undefined;
      // The next call goes first; everything below runs while the server works on it.
      const previous = sent;
      sent = reading || carried ? await this.send(reading ? reply.next : undefined, carried) : undefined;
      if (answered) shorten = this.answered(answered, reply, db);
      const group = reply.next !== undefined ? this.decide(reply, db, reply.pages * previous.pageCount) : undefined;
      // Paced by the write's server time (the script's own clock) per SCAN bucket (COUNT, which
      // a sparse MATCH does not turn into keys) of the step that read those keys: the write is
      // most of a step's work, and the SCAN beside it is a plain command without that clock.
      pacer.record(answered && reply.writeMs > 0 ? reply.writeMs : 0, group?.read ?? 0, answered?.buckets ?? 0);
      if (group) {
        d.progress(group.read, group.cp.cursor === '0' ? 1 : cursorPosition(group.cp.cursor));
        // Nothing to write: the checkpoint moves with the keys still waiting for an answer.
        if (group.keys.length > 0) pending = group;
        else this.ledger.pass(group.cp);
      }
      if (!sent && pending) {
        carried = pending;
        pending = undefined;
        sent = await this.send(undefined, carried);
      }
      this.ledger.flush();
    }
    await shorten?.();
    return finished;
  }

  /** Wait for the guard, the ops cap and the replica-lag brake, then send one step. */
  private async send(cursor: string | undefined, group: Group | undefined): Promise<Sent> {
    // Write-ahead: the `set` line of the keys this call writes is on disk before it is sent.
    this.ledger.flush();
    await this.walk.pacer.wait();
    await this.o.brake?.wait();
    if (group) await this.o.beforeWrite?.(group.keys);
    const plan = this.walk.pacer.nextCall('fixed');
    // One page per call, as large as the pages the call would have read in its budget, and
    // bounded by the bytes of names its buckets brought back so far.
    const byBytes = this.bytesPerBucket === undefined ? 16 : Math.floor((NAME_BYTES_PER_CALL * 0.75) / Math.max(this.bytesPerBucket, 1));
    const pageCount = Math.max(1, Math.min(Math.round(plan.pageCount * (plan.budgetMs > 0 ? PAGES_PER_CALL : 1)), byBytes, plan.maxKeys || Infinity));
    const reply = this.step(cursor, group, pageCount).catch((err: unknown) => Promise.reject(permissionFailure(err, this.walk.address) ?? err));
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
    let measure: Measure = group?.measure ?? false;
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
    // Both commands in one write(2): on loopback the sender's syscall also delivers the data
    // and wakes the server, and two per step cost this process more CPU than the step's keys.
    const stream = this.conn.status === 'ready' ? this.conn.stream : undefined;
    stream?.cork();
    const scan = cursor !== undefined ? scanPage(this.conn, cursor, pageCount, { match: this.o.match }) : undefined;
    scan?.catch(() => undefined);
    const call =
      writes.count > 0
        ? this.script.step({ cursor: undefined, pageCount, budgetMs: 0, maxKeys: 0, match: this.o.match, writeMsPerKey: this.writeMsPerKey, measure, writes })
        : undefined;
    call?.catch(() => undefined);
    stream?.uncork();
    const heavyWrite =
      group && heavy.length > 0
        ? this.lt.write(
            'NX',
            heavy.map((i) => group.keys[i]),
            heavy.map((i) => group.ttls[i]),
            this.o.measure,
          )
        : undefined;
    heavyWrite?.catch(() => undefined);
    const [page, written, heavyResult] = await Promise.all([scan, call, heavyWrite]);
    if (page) {
      const bytes = page.keys.reduce((sum, k) => sum + k.length, 0);
      this.bytesPerBucket = Math.max(bytes / pageCount, (this.bytesPerBucket ?? 0) * 0.9);
    }
    const count = group?.keys.length ?? 0;
    const lightWrites = written ? written.writes : () => decodeWriteReply('', 0);
    return {
      writes: () => (heavyResult ? mergeWrites(count, [light, lightWrites()], [heavy, heavyResult]) : lightWrites()),
      next: page?.next,
      keys:
        page && page.keys.length > 0
          ? packKeys(
              page.keys,
              page.keys.map(() => 0),
            ).blob
          : EMPTY,
      // Without the script's clock for the SCAN, the round trip counts: only more careful pacing.
      serverMs: performance.now() - started,
      writeMs: written?.writeMs ?? 0,
      pages: page ? 1 : 0,
    };
  }

  /** Decide the keys a step read; journal the ones to write before any call carries them. */
  private decide(reply: StepReply, db: number, buckets: number): Group {
    const read = unpackKeys(reply.keys);
    const group: Group = {
      keys: [],
      ttls: [],
      decisions: [],
      packed: NO_WRITES,
      measure: false,
      read: read.length,
      buckets,
      cp: { node: this.walk.address, db, cursor: reply.next!, done: false },
    };
    // One record for all keys: neither decideKey nor the tally keeps it.
    const record: KeyRecord = { key: EMPTY, db, node: this.walk.address, type: 'unknown', ttlMs: TTL_UNKNOWN, bytes: UNMEASURED, length: UNMEASURED };
    for (const key of read) {
      record.key = key;
      decideInto(group, record, this.o);
    }
    if (group.keys.length === 0) return group;
    group.packed = packKeys(group.keys, group.ttls, { packed: reply.keys, count: read.length });
    group.measure = this.ledger.measure(group.decisions);
    group.ticket = this.ledger.open(db, group);
    group.ticket.cp = group.cp;
    return group;
  }

  /** Count a group's answers; its checkpoint now, or after the LT write --max-ttl adds. */
  private answered(group: Group, reply: StepReply, db: number): (() => Promise<void>) | undefined {
    if (group.read > 0 && reply.writeMs > 0) this.writeMsPerKey = smooth(this.writeMsPerKey, reply.writeMs / group.read);
    const ticket = group.ticket!;
    const lt = this.ledger.answered(ticket, group, reply.writes());
    return lt && (() => this.ledger.shorten(ticket, db, lt));
  }
}
