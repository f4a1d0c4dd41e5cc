/**
 * CRC-64/Jones, the checksum Redis appends to RDB files (reflected polynomial
 * 0xad93d23594c935a9, init 0, no final xor), in two 32-bit halves so that no BigInt is
 * touched per byte. Slicing-by-8 tables: the checksum must not be what bounds the reader.
 */
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;
/** Tables: 8 for the JS loop (slicing-by-8), 16 for the WebAssembly one (slicing-by-16). */
const SLICES = 16;
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

/**
 * The loop in WebAssembly, where a 64-bit word is one value, slicing by 16: about twice the JS
 * loop's speed over a dump (85 → 76 ms of CPU for 131 MB against slicing by 8 in WebAssembly,
 * copy included), where the checksum was a tenth of `keywarden rdb`'s CPU. Hand-assembled (a
 * few hundred bytes, no toolchain): `u(ptr, len)` folds memory[ptr, ptr+len) into the CRC kept
 * at CRC_AT; the sixteen tables sit at 0 (slice s, byte n: the i64 at (s·256 + n)·8); the bytes
 * to fold are copied to DATA_AT, DATA_BYTES at a time.
 */
const CRC_AT = 256 * SLICES * 8;
const DATA_AT = 65536;
const DATA_BYTES = 1 << 20;
/** Below this many bytes the JS loop is cheaper than a copy and a call. */
const WASM_MIN = 256;

function uleb(n: number): number[] {
  const out: number[] = [];
  let left = n;
  do {
    let b = left & 0x7f;
    left >>>= 7;
    if (left !== 0) b |= 0x80;
    out.push(b);
  } while (left !== 0);
  return out;
}

/** The module's bytes (opcodes from the WebAssembly core specification's binary format). */
function crcModule(): Uint8Array<ArrayBuffer> {
  const I32_CONST = 0x41,
    I64_CONST = 0x42,
    GET = 0x20,
    SET = 0x21,
    I64_LOAD = 0x29,
    I64_LOAD8_U = 0x31,
    I64_STORE = 0x37;
  const BLOCK = 0x02,
    LOOP = 0x03,
    BR = 0x0c,
    BR_IF = 0x0d,
    END = 0x0b,
    VOID = 0x40;
  const I32_EQZ = 0x45,
    I32_LT_U = 0x49,
    I32_ADD = 0x6a,
    I32_SUB = 0x6b,
    I32_AND = 0x71,
    I32_SHL = 0x74,
    I64_XOR = 0x85,
    I64_SHR_U = 0x88,
    WRAP = 0xa7;
  const PTR = 0,
    LEN = 1,
    CRC = 2,
    X = 3,
    Y = 4;
  /** The byte (an i32 in 0..255) on the stack becomes the entry of table `slice`. */
  const lookup = (slice: number) => [I32_CONST, 3, I32_SHL, I64_LOAD, 3, ...uleb(slice * 2048)];
  // 16 bytes a step: x = crc ^ bytes 0–7, y = bytes 8–15; byte k of the 16 goes through table 15 − k.
  const word: number[] = [GET, CRC, GET, PTR, I64_LOAD, 0, 0, I64_XOR, SET, X, GET, PTR, I64_LOAD, 0, 8, SET, Y];
  for (let k = 0; k < 16; k++) {
    word.push(GET, k < 8 ? X : Y);
    if (k % 8 > 0) word.push(I64_CONST, 8 * (k % 8), I64_SHR_U);
    word.push(WRAP);
    if (k % 8 < 7) word.push(I32_CONST, 0xff, 0x01, I32_AND);
    word.push(...lookup(15 - k));
    if (k > 0) word.push(I64_XOR);
  }
  word.push(SET, CRC);
  const step = (local: number, by: number, op: number) => [GET, local, I32_CONST, by, op, SET, local];
  const body = [
    1,
    3,
    0x7e, // locals: crc, x, y (i64)
    I32_CONST,
    0,
    I64_LOAD,
    3,
    ...uleb(CRC_AT),
    SET,
    CRC,
    BLOCK,
    VOID,
    LOOP,
    VOID,
    GET,
    LEN,
    I32_CONST,
    16,
    I32_LT_U,
    BR_IF,
    1,
    ...word,
    ...step(PTR, 16, I32_ADD),
    ...step(LEN, 16, I32_SUB),
    BR,
    0,
    END,
    END,
    // The tail, a byte at a time: crc = T0[(crc ^ byte) & 0xff] ^ (crc >> 8).
    BLOCK,
    VOID,
    LOOP,
    VOID,
    GET,
    LEN,
    I32_EQZ,
    BR_IF,
    1,
    GET,
    CRC,
    GET,
    PTR,
    I64_LOAD8_U,
    0,
    0,
    I64_XOR,
    WRAP,
    I32_CONST,
    0xff,
    0x01,
    I32_AND,
    ...lookup(0),
    GET,
    CRC,
    I64_CONST,
    8,
    I64_SHR_U,
    I64_XOR,
    SET,
    CRC,
    ...step(PTR, 1, I32_ADD),
    ...step(LEN, 1, I32_SUB),
    BR,
    0,
    END,
    END,
    I32_CONST,
    0,
    GET,
    CRC,
    I64_STORE,
    3,
    ...uleb(CRC_AT),
    END,
  ];
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const pages = (DATA_AT + DATA_BYTES) / 65536;
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]), // type: (i32 ptr, i32 len) -> ()
    ...section(3, [1, 0]),
    ...section(5, [1, 0, ...uleb(pages)]),
    ...section(7, [2, 1, 0x6d, 2, 0, 1, 0x75, 0, 0]), // exports: "m" the memory, "u" the function
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

interface WasmCrc {
  bytes: Uint8Array;
  words: Int32Array;
  update(ptr: number, len: number): void;
}

let wasm: WasmCrc | null | undefined;

/** The WebAssembly loop, compiled on first use; null where WebAssembly is unavailable. */
function wasmCrc(): WasmCrc | null {
  if (wasm !== undefined) return wasm;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(crcModule()));
    const memory = instance.exports.m as WebAssembly.Memory;
    const words = new Int32Array(memory.buffer);
    for (let i = 0; i < 256 * SLICES; i++) {
      words[2 * i] = LO[i];
      words[2 * i + 1] = HI[i];
    }
    wasm = { bytes: new Uint8Array(memory.buffer), words, update: instance.exports.u as (ptr: number, len: number) => void };
  } catch {
    wasm = null;
  }
  return wasm;
}

/** True when long updates run in WebAssembly (false only where it is unavailable). */
export function crcInWebAssembly(): boolean {
  return wasmCrc() !== null;
}

/** A running CRC64 over the bytes fed to it. */
export class Crc64 {
  hi = 0;
  lo = 0;

  update(buf: Uint8Array, start: number, end: number): void {
    const w = end - start >= WASM_MIN ? wasmCrc() : null;
    if (!w) return this.updateJs(buf, start, end);
    w.words[CRC_AT >> 2] = this.lo;
    w.words[(CRC_AT >> 2) + 1] = this.hi;
    for (let i = start; i < end; i += DATA_BYTES) {
      const n = Math.min(DATA_BYTES, end - i);
      w.bytes.set(buf.subarray(i, i + n), DATA_AT);
      w.update(DATA_AT, n);
    }
    this.lo = w.words[CRC_AT >> 2] >>> 0;
    this.hi = w.words[(CRC_AT >> 2) + 1] >>> 0;
  }

  /** The JS loop: short updates, and where WebAssembly is unavailable. */
  updateJs(buf: Uint8Array, start: number, end: number): void {
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
      const a = 7 * 256 + (l & 0xff),
        b = 6 * 256 + ((l >>> 8) & 0xff),
        c = 5 * 256 + ((l >>> 16) & 0xff),
        d = 4 * 256 + (l >>> 24);
      const e = 3 * 256 + (h & 0xff),
        f = 2 * 256 + ((h >>> 8) & 0xff),
        g = 256 + ((h >>> 16) & 0xff),
        k = h >>> 24;
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
