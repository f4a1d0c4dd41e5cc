/**
 * The handoff of one dump's keys from the thread that parses it to the thread that
 * aggregates them (auditDumpFileThreaded): key records packed into batches of bytes, each
 * batch's ArrayBuffer transferred (not copied) over a MessagePort, so that neither thread
 * makes an object per key.
 *
 * Both threads run synchronous loops, so nothing here waits on an event loop: the aggregating
 * thread takes batches with `receiveMessageOnPort` and sleeps in `Atomics.wait` on a shared
 * counter of batches posted; the parsing thread sleeps on the counter of batches taken when
 * MAX_IN_FLIGHT batches are waiting (memory stays bounded whatever the dump's size, and the
 * parse is paced by the aggregation). A failure of the aggregating thread is a state word the
 * parsing thread checks, and its message comes over the same port.
 *
 * A record, 8-byte aligned: ttlMs, bytes, length (f64 each); db, type id, key length (i32
 * each); the key's bytes. Type names are sent once, with the batch where they first appear.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Aggregator } from '../keyspace/aggregate.js';

/** Bytes of a batch (a record that does not fit gets a batch of its own size). */
export const BATCH_BYTES = 256 << 10;
/**
 * Batches posted and not yet taken before the parsing thread waits (8 MB): enough for the
 * parse to go on while the aggregating thread starts (tens of ms), where it would wait.
 */
export const MAX_IN_FLIGHT = 32;
const HEADER = 36;

/** Control words (an Int32Array over a SharedArrayBuffer of CONTROL_BYTES). */
const POSTED = 0;
const TAKEN = 1;
const STATE = 2;
export const CONTROL_BYTES = 16;
const FAILED = 1;
const ABORTED = 2;

/** No batch taken for this long while the parser waits: the other thread is gone. */
const STALL_MS = 60_000;

export interface Batch {
  buffer: ArrayBuffer;
  /** Bytes of `buffer` holding records. */
  used: number;
  /** TTLs were judged at this Unix ms (the `now` of the aggregator). */
  now: number;
  /** Type names first used in this batch; their ids follow the ones sent before. */
  types?: string[];
}

export type HandoffMessage = { batch: Batch } | { end: true };

/**
 * What the aggregating thread sends back: each batch's buffer once its keys are taken (the
 * parsing side refills it: a fresh one would cost page faults), then the aggregation, or why
 * it failed.
 */
export type HandoffReply<T> = { free: ArrayBuffer } | { result: T } | { error: { message: string; stack?: string } };

const pad8 = (n: number): number => (n + 7) & ~7;

/** The parsing side: an `addKey` with the Aggregator's signature that packs keys into batches. */
export class HandoffWriter implements Pick<Aggregator, 'addKey'> {
  private readonly ctl: Int32Array;
  private buffer!: ArrayBuffer;
  private bytes!: Buffer;
  private f64!: Float64Array;
  private i32!: Int32Array;
  private used = 0;
  private posted = 0;
  private now = 0;
  private readonly typeIds = new Map<string, number>();
  /** Buffers sent back, to fill again. */
  private readonly spare: ArrayBuffer[] = [];
  /** The aggregating thread's error, when it sent one. */
  private failure: { message: string } | undefined;
  private newTypes: string[] = [];
  private lastType = '';
  private lastTypeId = -1;

  constructor(
    private readonly port: MessagePort,
    control: SharedArrayBuffer,
  ) {
    this.ctl = new Int32Array(control);
    this.open(BATCH_BYTES);
  }

  private open(size: number): void {
    if (size === BATCH_BYTES) this.takeReplies();
    this.buffer = (size === BATCH_BYTES ? this.spare.pop() : undefined) ?? new ArrayBuffer(size);
    this.bytes = Buffer.from(this.buffer);
    this.f64 = new Float64Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.used = 0;
  }

  addKey(key: Buffer, start: number, end: number, db: number, _node: string, type: string, ttlMs: number, bytes: number, length: number, now: number): void {
    const keyLength = end - start;
    const size = pad8(HEADER + keyLength);
    if (this.used + size > this.buffer.byteLength) {
      this.flush();
      if (size > this.buffer.byteLength) this.open(size);
    }
    this.now = now;
    let typeId = this.lastTypeId;
    if (type !== this.lastType) {
      const known = this.typeIds.get(type);
      if (known === undefined) {
        typeId = this.typeIds.size;
        this.typeIds.set(type, typeId);
        this.newTypes.push(type);
      } else typeId = known;
      this.lastType = type;
      this.lastTypeId = typeId;
    }
    const at = this.used;
    const f = at >> 3;
    this.f64[f] = ttlMs;
    this.f64[f + 1] = bytes;
    this.f64[f + 2] = length;
    const w = at >> 2;
    this.i32[w + 6] = db;
    this.i32[w + 7] = typeId;
    this.i32[w + 8] = keyLength;
    const out = this.bytes;
    const to = at + HEADER;
    if (keyLength <= 64) for (let i = 0; i < keyLength; i++) out[to + i] = key[start + i];
    else key.copy(out, to, start, end);
    this.used = at + size;
  }

  /** Post the batch being filled (if it holds anything), waiting while too many are in flight. */
  private flush(): void {
    if (this.used === 0) return;
    this.check();
    for (;;) {
      const taken = Atomics.load(this.ctl, TAKEN);
      if (this.posted - taken < MAX_IN_FLIGHT) break;
      if (Atomics.wait(this.ctl, TAKEN, taken, STALL_MS) === 'timed-out' && Atomics.load(this.ctl, TAKEN) === taken) {
        throw new Error(`the aggregating thread took no batch for ${STALL_MS / 1000} s`);
      }
      this.check();
    }
    const batch: Batch = { buffer: this.buffer, used: this.used, now: this.now };
    if (this.newTypes.length > 0) {
      batch.types = this.newTypes;
      this.newTypes = [];
    }
    this.port.postMessage({ batch } satisfies HandoffMessage, [this.buffer]);
    this.posted++;
    Atomics.store(this.ctl, POSTED, this.posted);
    Atomics.notify(this.ctl, POSTED);
    this.open(BATCH_BYTES);
  }

  /** What the aggregating thread sent so far: buffers to reuse, or its error. */
  private takeReplies(): void {
    for (;;) {
      const reply = receiveMessageOnPort(this.port)?.message as HandoffReply<unknown> | undefined;
      if (reply === undefined) return;
      if ('free' in reply) this.spare.push(reply.free);
      else if ('error' in reply) this.failure = reply.error;
    }
  }

  /** Throw the aggregating thread's error if it failed. */
  private check(): void {
    if (Atomics.load(this.ctl, STATE) !== FAILED) return;
    this.takeReplies();
    throw new Error(this.failure ? `aggregating thread: ${this.failure.message}` : 'the aggregating thread failed');
  }

  /** The last batch, then the end. */
  end(): void {
    this.flush();
    this.check();
    this.port.postMessage({ end: true } satisfies HandoffMessage);
    this.posted++;
    Atomics.store(this.ctl, POSTED, this.posted);
    Atomics.notify(this.ctl, POSTED);
  }
}

/** The parsing side gave up (the dump is corrupt): the aggregating side stops waiting. */
export function abortHandoff(control: SharedArrayBuffer): void {
  const ctl = new Int32Array(control);
  Atomics.store(ctl, STATE, ABORTED);
  Atomics.notify(ctl, POSTED);
}

/** Where the aggregating side puts a batch's keys. */
export type BatchSink = (key: Buffer, start: number, end: number, db: number, type: string, ttlMs: number, bytes: number, length: number, now: number) => void;

/**
 * The aggregating side: take batches until the end, handing every key to `sink`. When it
 * throws, tell the parsing side with `failHandoff`.
 */
export function takeBatches(port: MessagePort, control: SharedArrayBuffer, sink: BatchSink): void {
  const ctl = new Int32Array(control);
  const types: string[] = [];
  let taken = 0;
  for (;;) {
    const got = receiveMessageOnPort(port);
    if (got === undefined) {
      const posted = Atomics.load(ctl, POSTED);
      // Posted counts a message only once it is queued: if it is ahead, the message is there.
      if (posted === taken) {
        if (Atomics.load(ctl, STATE) === ABORTED) throw new Error('the dump reader stopped');
        Atomics.wait(ctl, POSTED, posted, 1000);
      }
      continue;
    }
    const msg = got.message as HandoffMessage;
    taken++;
    if ('end' in msg) return;
    const { buffer, used, now } = msg.batch;
    if (msg.batch.types) types.push(...msg.batch.types);
    const bytes = Buffer.from(buffer);
    const f64 = new Float64Array(buffer);
    const i32 = new Int32Array(buffer);
    for (let at = 0; at < used;) {
      const w = at >> 2;
      const keyLength = i32[w + 8];
      const f = at >> 3;
      const start = at + HEADER;
      sink(bytes, start, start + keyLength, i32[w + 6], types[i32[w + 7]], f64[f], f64[f + 1], f64[f + 2], now);
      at += pad8(HEADER + keyLength);
    }
    if (buffer.byteLength === BATCH_BYTES) port.postMessage({ free: buffer } satisfies HandoffReply<never>, [buffer]);
    Atomics.store(ctl, TAKEN, taken);
    Atomics.notify(ctl, TAKEN);
  }
}

/** The aggregating side failed: say so to the parsing side (which checks between batches). */
export function failHandoff(port: MessagePort, control: SharedArrayBuffer, err: unknown): void {
  const e = err as Error;
  port.postMessage({ error: { message: e?.message ?? String(err), stack: e?.stack } } satisfies HandoffReply<never>);
  const ctl = new Int32Array(control);
  Atomics.store(ctl, STATE, FAILED);
  Atomics.notify(ctl, TAKEN);
}
