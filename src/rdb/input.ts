/**
 * The byte layer under the RDB reader: a synchronous pull over a source (a file descriptor,
 * or a stream fed by another thread), one fixed window of memory, and a running CRC64.
 *
 * Memory stays bounded whatever the dump says: `skip` moves past bytes without keeping
 * them, and `take` (the only call that allocates by a length read from the dump) refuses a
 * length above what is left of the file or above `maxTake`.
 */
import { readSync } from 'node:fs';
import { Crc64 } from './crc64.js';
import { RdbCorruption } from './errors.js';
import { asIntegerAt } from './memory.js';

/** Where the bytes come from: `read` blocks until at least one byte is there, 0 at the end. */
export interface ByteSource {
  read(into: Buffer, offset: number, length: number): number;
  /** Total bytes, when known (files): lengths beyond it are refused before any allocation. */
  readonly size?: number;
}

export function fileSource(fd: number, size: number): ByteSource {
  let position = 0;
  return {
    size,
    read(into, offset, length) {
      const n = readSync(fd, into, offset, length, position);
      position += n;
      return n;
    },
  };
}

export function bufferSource(data: Buffer): ByteSource {
  let position = 0;
  return {
    size: data.length,
    read(into, offset, length) {
      const n = Math.min(length, data.length - position);
      data.copy(into, offset, position, position + n);
      position += n;
      return n;
    },
  };
}

const WINDOW = 1 << 20;
const EMPTY = Buffer.alloc(0);

/** Largest single value materialised from a stream of unknown size (Redis' proto-max-bulk-len). */
export const MAX_TAKE = 512 * 1024 * 1024;

export class ByteInput {
  private buf: Buffer;
  private pos = 0;
  private end = 0;
  /** File offset of buf[0]. */
  private base = 0;
  private crcPos = 0;
  readonly crc = new Crc64();
  /** Bytes read from the source so far (progress). */
  bytesRead = 0;
  /**
   * The key `pinKey` read: pinned[pinStart, pinEnd), valid until `unpin` whatever is read
   * after it. It stays where it is in the window, and is copied out (into `spill`) only when
   * the window moves under it: once per window refill, not once per key.
   */
  pinned: Buffer = EMPTY;
  pinStart = 0;
  pinEnd = 0;
  private pinnedInWindow = false;
  private spill = EMPTY;

  constructor(
    private readonly source: ByteSource,
    private readonly maxTake = MAX_TAKE,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(WINDOW, Math.max(64, (source.size ?? WINDOW) + 16)));
  }

  /** Bytes the window holds: `view` of up to this many never grows it. */
  get windowBytes(): number {
    return this.buf.length;
  }

  get offset(): number {
    return this.base + this.pos;
  }

  fail(what: string, at = this.offset): never {
    throw new RdbCorruption(what, at);
  }

  /** Make `n` bytes available at `pos`, compacting or growing the window. */
  private fill(n: number): void {
    if (this.pinnedInWindow) this.spillPin();
    this.crc.update(this.buf, this.crcPos, this.pos);
    const left = this.end - this.pos;
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(n);
      this.buf.copy(bigger, 0, this.pos, this.end);
      this.buf = bigger;
    } else if (left > 0) this.buf.copy(this.buf, 0, this.pos, this.end);
    this.base += this.pos;
    this.pos = 0;
    this.crcPos = 0;
    this.end = left;
    while (this.end < n) {
      const got = this.source.read(this.buf, this.end, this.buf.length - this.end);
      if (got <= 0) this.fail(`unexpected end of file (needed ${n - this.end} more bytes)`, this.base + this.end);
      this.end += got;
      this.bytesRead += got;
    }
  }

  /** True when no byte is left (the source is drained). */
  atEnd(): boolean {
    if (this.pos < this.end) return false;
    if (this.pinnedInWindow) this.spillPin();
    this.crc.update(this.buf, this.crcPos, this.pos);
    this.base += this.pos;
    this.pos = this.end = this.crcPos = 0;
    const got = this.source.read(this.buf, 0, this.buf.length);
    if (got <= 0) return true;
    this.end = got;
    this.bytesRead += got;
    return false;
  }

  /** Consume whatever is left; returns how many bytes that was. */
  drain(): number {
    let n = 0;
    while (!this.atEnd()) {
      n += this.end - this.pos;
      this.pos = this.end;
    }
    return n;
  }

  /** The next byte, not consumed. */
  peekU8(): number {
    if (this.pos >= this.end) this.fill(1);
    return this.buf[this.pos];
  }

  u8(): number {
    if (this.pos >= this.end) this.fill(1);
    return this.buf[this.pos++];
  }

  /** A view of the next `n` bytes, valid until the next call; n must be small (≤ the window). */
  view(n: number): Buffer {
    if (this.end - this.pos < n) this.fill(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /**
   * Consume `n` bytes (n ≤ 20) and return the integer they spell as Redis would store it
   * (see `asInteger`), without making a Buffer of them: the audit path's small members.
   */
  integerOf(n: number): number | undefined {
    if (this.end - this.pos < n) this.fill(n);
    const v = asIntegerAt(this.buf, this.pos, n);
    this.pos += n;
    return v;
  }

  u32le(): number {
    if (this.end - this.pos < 4) this.fill(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u32be(): number {
    if (this.end - this.pos < 4) this.fill(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A 64-bit little-endian integer as a double (exact up to 2^53; ms timestamps fit). */
  i64le(): number {
    if (this.end - this.pos < 8) this.fill(8);
    // Two halves, no BigInt: hi·2^32 and lo are exact doubles, so their sum rounds once, as Number(BigInt) would.
    const v = this.buf.readInt32LE(this.pos + 4) * 4294967296 + this.buf.readUInt32LE(this.pos);
    this.pos += 8;
    return v;
  }

  f64le(): number {
    if (this.end - this.pos < 8) this.fill(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Refuse a length that cannot be in what is left of the input, before allocating it. */
  checkLength(n: number, what: string, at = this.offset): void {
    if (!Number.isSafeInteger(n) || n < 0) this.fail(`${what}: impossible length ${n}`, at);
    const left = this.source.size === undefined ? Infinity : this.source.size - this.offset;
    if (n > left) this.fail(`${what}: length ${n} runs past the end of the file (${left} bytes left)`, at);
  }

  /** A copy of the next `n` bytes (checked first). */
  take(n: number, what: string): Buffer {
    this.checkLength(n, what);
    if (n > this.maxTake) this.fail(`${what}: ${n} bytes is above the ${this.maxTake}-byte limit for one value`);
    if (n <= 64 && n <= this.end - this.pos) {
      // Small (keys): a byte loop beats Buffer#copy's argument checks and native call.
      const v = Buffer.allocUnsafe(n);
      const b = this.buf;
      const p = this.pos;
      for (let i = 0; i < n; i++) v[i] = b[p + i];
      this.pos += n;
      return v;
    }
    if (n <= this.buf.length) return Buffer.from(this.view(n));
    this.fill(n);
    const v = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return v;
  }

  /**
   * Consume the next `n` bytes (checked first) and pin them where they are: the audit path's
   * keys, with no copy, Buffer nor string per key. See `pinned`.
   */
  pinKey(n: number, what: string, at = this.offset): void {
    this.checkLength(n, what, at);
    if (n > this.maxTake) this.fail(`${what}: ${n} bytes is above the ${this.maxTake}-byte limit for one value`);
    if (this.end - this.pos < n) this.fill(n);
    this.pinned = this.buf;
    this.pinStart = this.pos;
    this.pinEnd = this.pos + n;
    this.pinnedInWindow = true;
    this.pos += n;
  }

  /** Pin a Buffer of its own (a key that was encoded: an integer or LZF). */
  pinCopy(key: Buffer): void {
    this.pinned = key;
    this.pinStart = 0;
    this.pinEnd = key.length;
    this.pinnedInWindow = false;
  }

  /** The pinned key is no longer needed. */
  unpin(): void {
    this.pinnedInWindow = false;
  }

  /** The window is about to move: copy the pinned key out of it. */
  private spillPin(): void {
    const n = this.pinEnd - this.pinStart;
    if (this.spill.length < n) this.spill = Buffer.allocUnsafe(Math.max(n, 2 * this.spill.length, 256));
    this.buf.copy(this.spill, 0, this.pinStart, this.pinEnd);
    this.pinned = this.spill;
    this.pinStart = 0;
    this.pinEnd = n;
    this.pinnedInWindow = false;
  }

  /** Move past `n` bytes without keeping them (they still count in the checksum). */
  skip(n: number, what: string): void {
    this.checkLength(n, what);
    let left = n;
    while (left > 0) {
      const avail = this.end - this.pos;
      if (avail >= left) {
        this.pos += left;
        return;
      }
      this.pos = this.end;
      left -= avail;
      this.fill(Math.min(left, this.buf.length));
    }
  }

  /** Checksum of everything consumed so far matches the next 8 bytes (which are consumed). */
  checksumMatches(): boolean {
    if (this.end - this.pos < 8) this.fill(8);
    this.crc.update(this.buf, this.crcPos, this.pos);
    this.crcPos = this.pos;
    const ok = this.crc.matches(this.buf, this.pos);
    const zero = this.buf.subarray(this.pos, this.pos + 8).every((b) => b === 0);
    this.pos += 8;
    this.crcPos = this.pos;
    return ok || zero;
  }
}
