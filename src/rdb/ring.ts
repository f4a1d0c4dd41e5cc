/**
 * A byte ring in shared memory between a network thread (writer) and the synchronous RDB
 * reader (reader): the reader blocks in Atomics.wait until bytes arrive, the writer blocks
 * when the ring is full, so the socket is paced by the parse (TCP backpressure) and memory
 * stays at the ring's size whatever the snapshot's.
 *
 * Control words: FILLED bytes in the ring; STATE running/done/failed; BEAT bumped whenever
 * the server shows life (data or keep-alive newlines). A failure's message is written as
 * UTF-8 into the message area.
 */
export const RING_BYTES = 8 << 20;
const MESSAGE_BYTES = 1024;
export const FILLED = 0;
export const STATE = 1;
export const BEAT = 2;
export const MESSAGE_LENGTH = 3;
export const RUNNING = 0;
export const DONE = 1;
export const FAILED = 2;

export interface RingMemory {
  data: SharedArrayBuffer;
  control: SharedArrayBuffer;
  message: SharedArrayBuffer;
  /** Payload size when the server announced it (`$<len>`), else -1; [0] of a Float64Array. */
  size: SharedArrayBuffer;
}

export function createRing(): RingMemory {
  const size = new SharedArrayBuffer(8);
  new Float64Array(size)[0] = -1;
  return { data: new SharedArrayBuffer(RING_BYTES), control: new SharedArrayBuffer(16), message: new SharedArrayBuffer(MESSAGE_BYTES), size };
}

/** The writing side (network thread). */
export class RingWriter {
  private readonly data: Uint8Array;
  private readonly ctl: Int32Array;
  private head = 0;

  constructor(private readonly mem: RingMemory) {
    this.data = new Uint8Array(mem.data);
    this.ctl = new Int32Array(mem.control);
  }

  /** Copy `chunk` in, blocking while the ring is full. */
  write(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const filled = Atomics.load(this.ctl, FILLED);
      const free = RING_BYTES - filled;
      if (free === 0) {
        Atomics.wait(this.ctl, FILLED, filled, 1000);
        continue;
      }
      const n = Math.min(free, chunk.length - at, RING_BYTES - this.head);
      this.data.set(chunk.subarray(at, at + n), this.head);
      this.head = (this.head + n) % RING_BYTES;
      at += n;
      Atomics.add(this.ctl, FILLED, n);
      Atomics.notify(this.ctl, FILLED);
    }
  }

  beat(): void {
    Atomics.add(this.ctl, BEAT, 1);
  }

  setSize(bytes: number): void {
    new Float64Array(this.mem.size)[0] = bytes;
  }

  finish(): void {
    Atomics.store(this.ctl, STATE, DONE);
    Atomics.notify(this.ctl, FILLED);
  }

  fail(message: string): void {
    const bytes = new TextEncoder().encode(message).subarray(0, MESSAGE_BYTES);
    new Uint8Array(this.mem.message).set(bytes);
    Atomics.store(this.ctl, MESSAGE_LENGTH, bytes.length);
    Atomics.store(this.ctl, STATE, FAILED);
    Atomics.notify(this.ctl, FILLED);
  }
}

/** The reading side: a blocking `read` for the RDB reader's ByteSource. */
export class RingReader {
  private readonly data: Uint8Array;
  private readonly ctl: Int32Array;
  private tail = 0;

  constructor(
    private readonly mem: RingMemory,
    /** Give up when the server shows no life for this long. */
    private readonly silenceMs: number,
    private readonly onFailure: (message: string) => never,
  ) {
    this.data = new Uint8Array(mem.data);
    this.ctl = new Int32Array(mem.control);
  }

  /** Payload size when announced, else undefined (a diskless transfer). */
  size(): number | undefined {
    const s = new Float64Array(this.mem.size)[0];
    return s >= 0 ? s : undefined;
  }

  read(into: Buffer, offset: number, length: number): number {
    let lastBeat = Atomics.load(this.ctl, BEAT);
    let quietSince = Date.now();
    for (;;) {
      const filled = Atomics.load(this.ctl, FILLED);
      if (filled > 0) {
        const n = Math.min(filled, length, RING_BYTES - this.tail);
        into.set(this.data.subarray(this.tail, this.tail + n), offset);
        this.tail = (this.tail + n) % RING_BYTES;
        Atomics.sub(this.ctl, FILLED, n);
        Atomics.notify(this.ctl, FILLED);
        return n;
      }
      const state = Atomics.load(this.ctl, STATE);
      if (state === DONE) return 0;
      if (state === FAILED) {
        const len = Atomics.load(this.ctl, MESSAGE_LENGTH);
        this.onFailure(new TextDecoder().decode(new Uint8Array(this.mem.message).slice(0, len)));
      }
      Atomics.wait(this.ctl, FILLED, 0, 1000);
      const beat = Atomics.load(this.ctl, BEAT);
      if (beat !== lastBeat) {
        lastBeat = beat;
        quietSince = Date.now();
      } else if (Date.now() - quietSince > this.silenceMs) this.onFailure(`no data from the server for ${Math.round(this.silenceMs / 1000)} s`);
    }
  }
}
