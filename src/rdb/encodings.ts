/**
 * Walkers over the compact encodings Redis stores as one string blob: ziplist, listpack,
 * intset, zipmap. Each calls `visit` per entry with either a string slice or an integer,
 * checks every length against the blob before using it, and throws BlobCorruption with the
 * offset inside the blob where an entry lies.
 */

export class BlobCorruption extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

/** One entry: a string `blob[start, start+len)`, or an integer (`int` set, len = its decimal length). */
export type EntryVisitor = (blob: Buffer, start: number, len: number, int: number | bigint | undefined) => void;

function need(blob: Buffer, end: number, at: number, what: string): void {
  if (end > blob.length) throw new BlobCorruption(`${what} runs past the end of its ${blob.length}-byte blob`, at);
}

function intLen(v: number | bigint): number {
  return String(v).length;
}

function int64(blob: Buffer, at: number): number | bigint {
  const v = blob.readBigInt64LE(at);
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** A signed little-endian integer of `width` bytes (1, 2, 3, 4 or 8), bounds-checked. */
function fixedInt(blob: Buffer, at: number, width: number, entry: number, what: string): number | bigint {
  need(blob, at + width, entry, what);
  return width === 8 ? int64(blob, at) : blob.readIntLE(at, width);
}

/** Ziplist integer encodings → width in bytes. */
const ZIPLIST_INT: Record<number, number> = { 0xc0: 2, 0xd0: 4, 0xe0: 8, 0xf0: 3, 0xfe: 1 };
/** Listpack integer encodings → width in bytes (after the encoding byte). */
const LISTPACK_INT: Record<number, number> = { 0xf1: 2, 0xf2: 3, 0xf3: 4, 0xf4: 8 };

/** Walk a ziplist; returns the number of entries. */
export function walkZiplist(blob: Buffer, visit: EntryVisitor): number {
  need(blob, 11, 0, 'ziplist header');
  const total = blob.readUInt32LE(0);
  if (total !== blob.length) throw new BlobCorruption(`ziplist says ${total} bytes, blob has ${blob.length}`, 0);
  const declared = blob.readUInt16LE(8);
  let p = 10;
  let n = 0;
  for (;;) {
    need(blob, p + 1, p, 'ziplist entry');
    if (blob[p] === 0xff) break;
    const entry = p;
    p += blob[p] === 0xfe ? 5 : 1;
    need(blob, p + 1, entry, 'ziplist entry');
    const enc = blob[p];
    const top = enc >> 6;
    let len: number;
    if (top === 0) {
      len = enc & 0x3f;
      p += 1;
    } else if (top === 1) {
      need(blob, p + 2, entry, 'ziplist entry');
      len = ((enc & 0x3f) << 8) | blob[p + 1];
      p += 2;
    } else if (top === 2) {
      need(blob, p + 5, entry, 'ziplist entry');
      len = blob.readUInt32BE(p + 1);
      p += 5;
    } else {
      p += 1;
      let v: number | bigint;
      const width = ZIPLIST_INT[enc];
      if (width !== undefined) {
        v = fixedInt(blob, p, width, entry, 'ziplist int');
        p += width;
      } else if (enc >= 0xf1 && enc <= 0xfd) v = (enc & 0x0f) - 1;
      else throw new BlobCorruption(`unknown ziplist encoding 0x${enc.toString(16)}`, p - 1);
      visit(blob, 0, intLen(v), v);
      n++;
      continue;
    }
    need(blob, p + len, entry, 'ziplist string');
    visit(blob, p, len, undefined);
    p += len;
    n++;
  }
  if (p !== blob.length - 1) throw new BlobCorruption('ziplist end marker before its last byte', p);
  if (declared !== 0xffff && declared !== n) throw new BlobCorruption(`ziplist says ${declared} entries, holds ${n}`, 8);
  return n;
}

function backlenSize(entry: number): number {
  return entry < 128 ? 1 : entry < 16384 ? 2 : entry < 2097152 ? 3 : entry < 268435456 ? 4 : 5;
}

/** Walk a listpack; returns the number of entries. */
export function walkListpack(blob: Buffer, visit: EntryVisitor): number {
  need(blob, 7, 0, 'listpack header');
  const total = blob.readUInt32LE(0);
  if (total !== blob.length) throw new BlobCorruption(`listpack says ${total} bytes, blob has ${blob.length}`, 0);
  const declared = blob.readUInt16LE(4);
  let p = 6;
  let n = 0;
  for (;;) {
    need(blob, p + 1, p, 'listpack entry');
    const e = blob[p];
    if (e === 0xff) break;
    const entry = p;
    let head: number;
    let len = 0;
    let v: number | bigint | undefined;
    if ((e & 0x80) === 0) {
      v = e & 0x7f;
      head = 1;
    } else if ((e & 0xc0) === 0x80) {
      len = e & 0x3f;
      head = 1;
    } else if ((e & 0xe0) === 0xc0) {
      need(blob, p + 2, entry, 'listpack int');
      const raw = ((e & 0x1f) << 8) | blob[p + 1];
      v = raw >= 4096 ? raw - 8192 : raw;
      head = 2;
    } else if ((e & 0xf0) === 0xe0) {
      need(blob, p + 2, entry, 'listpack string');
      len = ((e & 0x0f) << 8) | blob[p + 1];
      head = 2;
    } else if (e === 0xf0) {
      need(blob, p + 5, entry, 'listpack string');
      len = blob.readUInt32LE(p + 1);
      head = 5;
    } else if (LISTPACK_INT[e] !== undefined) {
      v = fixedInt(blob, p + 1, LISTPACK_INT[e], entry, 'listpack int');
      head = 1 + LISTPACK_INT[e];
    } else throw new BlobCorruption(`unknown listpack encoding 0x${e.toString(16)}`, p);
    const size = v === undefined ? head + len : head;
    need(blob, p + size + backlenSize(size), entry, 'listpack entry');
    if (v === undefined) visit(blob, p + head, len, undefined);
    else visit(blob, 0, intLen(v), v);
    p += size + backlenSize(size);
    n++;
  }
  if (p !== blob.length - 1) throw new BlobCorruption('listpack end marker before its last byte', p);
  if (declared !== 0xffff && declared !== n) throw new BlobCorruption(`listpack says ${declared} entries, holds ${n}`, 4);
  return n;
}

/** Walk an intset; returns the number of members. */
export function walkIntset(blob: Buffer, visit: EntryVisitor): number {
  need(blob, 8, 0, 'intset header');
  const width = blob.readUInt32LE(0);
  const n = blob.readUInt32LE(4);
  if (width !== 2 && width !== 4 && width !== 8) throw new BlobCorruption(`intset width ${width}`, 0);
  if (8 + n * width !== blob.length) throw new BlobCorruption(`intset of ${n} × ${width} bytes in a ${blob.length}-byte blob`, 4);
  for (let i = 0, p = 8; i < n; i++, p += width) {
    const v = width === 2 ? blob.readInt16LE(p) : width === 4 ? blob.readInt32LE(p) : int64(blob, p);
    visit(blob, 0, intLen(v), v);
  }
  return n;
}

/** Walk a zipmap (field, value, field, value…); returns the number of strings. */
export function walkZipmap(blob: Buffer, visit: EntryVisitor): number {
  need(blob, 2, 0, 'zipmap header');
  let p = 1;
  let n = 0;
  for (;;) {
    need(blob, p + 1, p, 'zipmap entry');
    if (blob[p] === 0xff) break;
    const entry = p;
    let len = blob[p];
    if (len === 254) {
      need(blob, p + 5, entry, 'zipmap length');
      len = blob.readUInt32LE(p + 1);
      p += 5;
    } else if (len === 255) throw new BlobCorruption('zipmap length 255', p);
    else p += 1;
    let free = 0;
    if (n % 2 === 1) {
      need(blob, p + 1, entry, 'zipmap value');
      free = blob[p];
      p += 1;
    }
    need(blob, p + len + free, entry, 'zipmap string');
    visit(blob, p, len, undefined);
    p += len + free;
    n++;
  }
  if (n % 2 !== 0) throw new BlobCorruption('zipmap field without a value', p);
  return n;
}
