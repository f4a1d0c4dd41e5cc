/**
 * CRC-64/Jones, the checksum Redis appends to RDB files (reflected polynomial
 * 0xad93d23594c935a9, init 0, no final xor), in two 32-bit halves so that no BigInt is
 * touched per byte. Slicing-by-8 tables: the checksum must not be what bounds the reader.
 */
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;
const SLICES = 8;
// Int32 tables: V8 keeps int32 values unboxed, uint32 above 2^31 would be heap numbers.
const HI = new Int32Array(256 * SLICES);
const LO = new Int32Array(256 * SLICES);

for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let k = 0; k < 8; k++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  HI[n] = hi;
  LO[n] = lo;
}
for (let s = 1; s < SLICES; s++) {
  for (let n = 0; n < 256; n++) {
    const prevHi = HI[(s - 1) * 256 + n];
    const prevLo = LO[(s - 1) * 256 + n];
    const i = prevLo & 0xff;
    HI[s * 256 + n] = HI[i] ^ (prevHi >>> 8);
    LO[s * 256 + n] = LO[i] ^ ((prevLo >>> 8) | ((prevHi & 0xff) << 24));
  }
}

const EMPTY = new Int32Array(0);

/** A running CRC64 over the bytes fed to it. */
export class Crc64 {
  hi = 0;
  lo = 0;

  update(buf: Uint8Array, start: number, end: number): void {
    let hi = this.hi | 0;
    let lo = this.lo | 0;
    let i = start;
    // Bytes one at a time up to a 4-byte boundary, then words through an aligned view.
    for (; i < end && ((buf.byteOffset + i) & 3) !== 0; i++) {
      const idx = (lo ^ buf[i]) & 0xff;
      lo = LO[idx] ^ ((lo >>> 8) | ((hi & 0xff) << 24));
      hi = HI[idx] ^ (hi >>> 8);
    }
    const aligned = ((buf.byteOffset + i) & 3) === 0 && end - i >= 8;
    // Little-endian words, as on every platform Node runs on today.
    const words = aligned ? new Int32Array(buf.buffer, buf.byteOffset + i, (end - i) >>> 2) : EMPTY;
    const pairs = words.length >>> 1;
    for (let w = 0; w < pairs; w++) {
      const l = lo ^ words[2 * w];
      const h = hi ^ words[2 * w + 1];
      const a = 7 * 256 + (l & 0xff), b = 6 * 256 + ((l >>> 8) & 0xff), c = 5 * 256 + ((l >>> 16) & 0xff), d = 4 * 256 + (l >>> 24);
      const e = 3 * 256 + (h & 0xff), f = 2 * 256 + ((h >>> 8) & 0xff), g = 256 + ((h >>> 16) & 0xff), k = h >>> 24;
      hi = HI[a] ^ HI[b] ^ HI[c] ^ HI[d] ^ HI[e] ^ HI[f] ^ HI[g] ^ HI[k];
      lo = LO[a] ^ LO[b] ^ LO[c] ^ LO[d] ^ LO[e] ^ LO[f] ^ LO[g] ^ LO[k];
    }
    i += pairs * 8;
    for (; i < end; i++) {
      const idx = (lo ^ buf[i]) & 0xff;
      lo = LO[idx] ^ ((lo >>> 8) | ((hi & 0xff) << 24));
      hi = HI[idx] ^ (hi >>> 8);
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  /** True when the 8 little-endian bytes at `buf[at]` are this checksum. */
  matches(buf: Uint8Array, at: number): boolean {
    const lo = (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
    const hi = (buf[at + 4] | (buf[at + 5] << 8) | (buf[at + 6] << 16) | (buf[at + 7] << 24)) >>> 0;
    return lo === this.lo && hi === this.hi;
  }
}

/** CRC64 of a whole buffer, as a BigInt (tests). */
export function crc64(buf: Uint8Array): bigint {
  const c = new Crc64();
  c.update(buf, 0, buf.length);
  return (BigInt(c.hi) << 32n) | BigInt(c.lo);
}
