/**
 * RDB lengths and strings on top of ByteInput: the length encodings (6/14/32/64-bit), the
 * integer-encoded strings and LZF-compressed strings. `element` reads a collection member
 * and keeps its bytes only when they are small or asked for: a 500 MB member is skipped.
 */
import type { ByteInput } from './input.js';
import { lzfDecompress, lzfSizesPlausible } from './lzf.js';
import { asInteger } from './memory.js';

/** Members up to this size are looked at (integer check, listpack sizing); longer ones skipped. */
export const SMALL_ELEMENT = 64;
/** Longest text Redis may store as an integer (tryObjectEncoding, lpStringToInt64). */
const MAX_INTEGER_TEXT = 20;
const ENCVAL = -1;

/** Chars of `String(v)` for an integer of at most 32 bits, without making the string. */
function decimalLength(v: number): number {
  let n = v < 0 ? 2 : 1;
  for (let a = Math.abs(v); a >= 10; a = Math.floor(a / 10)) n++;
  return n;
}

export class RdbStrings {
  /** Set by `element`: logical length (decimal length for an integer-encoded string). */
  len = 0;
  /** Set by `element`: the integer value when the member is (or reads as) an integer. */
  int: number | undefined = undefined;
  /** Set by `element`: the bytes when kept, else undefined. */
  bytes: Buffer | undefined = undefined;
  private special = 0;

  constructor(readonly input: ByteInput) {}

  /** A length; when the high bits say "encoded string", returns -1 and sets `special`. */
  private lenOrSpecial(): number {
    const inp = this.input;
    const first = inp.u8();
    const kind = first >> 6;
    if (kind === 0) return first & 0x3f;
    if (kind === 1) return ((first & 0x3f) << 8) | inp.u8();
    if (kind === 3) {
      this.special = first & 0x3f;
      return ENCVAL;
    }
    if (first === 0x80) return inp.u32be();
    if (first === 0x81) {
      const at = inp.offset;
      const hi = inp.u32be();
      const lo = inp.u32be();
      if (hi >= 0x200000) inp.fail(`64-bit length ${(BigInt(hi) << 32n) | BigInt(lo)} is beyond any real dump`, at);
      return hi * 2 ** 32 + lo;
    }
    return this.input.fail(`unknown length encoding 0x${first.toString(16)}`, inp.offset - 1);
  }

  /** A plain length (counts, ids, db numbers). */
  length(): number {
    const at = this.input.offset;
    const n = this.lenOrSpecial();
    if (n === ENCVAL) this.input.fail('an encoded string where a length was expected', at);
    return n;
  }

  /** A full 64-bit length (module type ids use all 64 bits). */
  lengthBig(): bigint {
    const inp = this.input;
    const first = inp.u8();
    if (first === 0x81) {
      const hi = inp.u32be();
      const lo = inp.u32be();
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    if (first === 0x80) return BigInt(inp.u32be());
    if (first >> 6 === 0) return BigInt(first & 0x3f);
    if (first >> 6 === 1) return BigInt(((first & 0x3f) << 8) | inp.u8());
    return inp.fail('an encoded string where a 64-bit id was expected', inp.offset - 1);
  }

  /** A length used as an element count: checked against the bytes left (each element takes ≥ 1). */
  count(what: string): number {
    const at = this.input.offset;
    const n = this.length();
    this.input.checkLength(n, what, at);
    return n;
  }

  /** The integer of an int-encoded string (special 0..2). */
  private encodedInt(): number {
    const inp = this.input;
    if (this.special === 0) return (inp.u8() << 24) >> 24;
    if (this.special === 1) {
      const v = inp.view(2);
      return v.readInt16LE(0);
    }
    if (this.special === 2) return inp.view(4).readInt32LE(0);
    return inp.fail(`unknown string encoding ${this.special}`, inp.offset - 1);
  }

  private lzf(keep: boolean): Buffer | undefined {
    const inp = this.input;
    const at = inp.offset;
    const clen = this.length();
    const ulen = this.length();
    inp.checkLength(clen, 'compressed string', at);
    if (!lzfSizesPlausible(clen, ulen)) inp.fail(`compressed string of ${clen} bytes cannot hold ${ulen}`, at);
    this.len = ulen;
    if (!keep) {
      inp.skip(clen, 'compressed string');
      return undefined;
    }
    const out = lzfDecompress(inp.take(clen, 'compressed string'), ulen);
    return out ?? inp.fail('corrupt LZF data', at);
  }

  /**
   * Read one string: sets `len`, `int` and (when `keep`, or when it is small) `bytes`.
   * Kept bytes may be a view into the input window: copy them before the next read.
   */
  element(keep: boolean): void {
    const inp = this.input;
    const at = inp.offset;
    const n = this.lenOrSpecial();
    this.int = undefined;
    this.bytes = undefined;
    if (n !== ENCVAL) {
      this.len = n;
      if (keep) {
        inp.checkLength(n, 'string', at);
        this.bytes = n <= SMALL_ELEMENT ? inp.view(n) : inp.take(n, 'string');
        this.int = asInteger(this.bytes, n);
      } else if (n <= MAX_INTEGER_TEXT) {
        inp.checkLength(n, 'string', at);
        this.int = inp.integerOf(n);
      } else inp.skip(n, 'string');
      return;
    }
    if (this.special === 3) {
      // LZF strings are over 20 bytes, so never integers: decompress only when asked.
      this.bytes = this.lzf(keep);
      return;
    }
    const v = this.encodedInt();
    this.int = v;
    if (keep) {
      const text = String(v);
      this.len = text.length;
      this.bytes = Buffer.from(text);
    } else this.len = decimalLength(v);
  }

  /** A whole string as a new Buffer (keys, aux fields, blobs of encoded collections). */
  string(): Buffer {
    const inp = this.input;
    const at = inp.offset;
    const first = inp.peekU8();
    // A plain string (the usual key): one copy out of the window, no integer check.
    if (first >> 6 !== 3) {
      const n = this.lenOrSpecial();
      this.len = n;
      this.int = undefined;
      inp.checkLength(n, 'string', at);
      this.bytes = inp.take(n, 'string');
      return this.bytes;
    }
    this.element(true);
    const b = this.bytes as Buffer;
    return b.length <= SMALL_ELEMENT ? Buffer.from(b) : b;
  }

  /**
   * A whole string to walk before the next read (the blob of an encoded collection): a view
   * of the input window when it fits in it, else a copy.
   */
  blob(): Buffer {
    const inp = this.input;
    const at = inp.offset;
    if (inp.peekU8() >> 6 === 3) return this.string();
    const n = this.lenOrSpecial();
    this.len = n;
    this.int = undefined;
    inp.checkLength(n, 'string', at);
    this.bytes = n <= inp.windowBytes ? inp.view(n) : inp.take(n, 'string');
    return this.bytes;
  }

  /** A key on the audit path, pinned in the input: input.pinned[pinStart, pinEnd) (see ByteInput.pinKey). */
  key(): void {
    const inp = this.input;
    const at = inp.offset;
    if (inp.peekU8() >> 6 === 3) {
      inp.pinCopy(this.string());
      return;
    }
    const n = this.lenOrSpecial();
    this.len = n;
    this.int = undefined;
    this.bytes = undefined;
    inp.pinKey(n, 'string', at);
  }

  /** Skip a string; returns its logical length. */
  skip(): number {
    this.element(false);
    return this.len;
  }

  /** A zset score in the old text form (RDB_TYPE_ZSET). */
  textDouble(): number {
    const inp = this.input;
    const n = inp.u8();
    if (n === 253) return NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    const text = inp.view(n).toString('latin1');
    const v = Number(text);
    if (Number.isNaN(v) && text !== 'nan') inp.fail(`bad score "${text}"`, inp.offset - n);
    return v;
  }
}
