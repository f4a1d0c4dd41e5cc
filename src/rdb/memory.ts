/**
 * The memory model: per key, the bytes Redis 7.0 reports for it with `MEMORY USAGE key
 * SAMPLES 0` once the dump is loaded with the default config. It follows what the server
 * does on load (rdb.c, object.c `objectComputeSize`): which encoding the value gets, how its
 * allocations round up to jemalloc size classes, how big its dict tables are.
 * Tested against a real redis-server per type and encoding (test/rdb/memory.test.ts).
 */

/** jemalloc 5 size classes: 8, then 16-byte steps to 128, then four classes per doubling. */
export function jeSize(n: number): number {
  if (n <= 8) return 8;
  if (n <= 128) return (n + 15) & ~15;
  // Four classes per doubling: the step is a quarter of the power of two below n.
  if (n <= 2 ** 30) {
    // Int arithmetic (the usual value sizes): round up to a multiple of a power of two.
    const step = 1 << (29 - Math.clz32(n - 1));
    return (n + step - 1) & -step;
  }
  const p = n - 1 < 2 ** 31 ? 31 - Math.clz32(n - 1) : Math.floor(Math.log2(n - 1));
  const step = 2 ** (p - 2);
  return Math.ceil(n / step) * step;
}

/** Header bytes of an sds holding `len` bytes (sdsReqType). */
function sdsHeader(len: number): number {
  if (len < 32) return 1;
  if (len < 256) return 3;
  if (len < 65536) return 5;
  if (len < 2 ** 32) return 9;
  return 17;
}

/** zmalloc_size of an sds of `len` bytes created with sdsnewlen. */
export function sdsAlloc(len: number): number {
  return jeSize(sdsHeader(len) + len + 1);
}

const ROBJ = 16;
const DICT = 56;
const DICT_ENTRY = 24;
const QUICKLIST = 40;
const QUICKLIST_NODE = 40;
const EMBSTR_LIMIT = 44;
/** The largest string `tryObjectEncoding` turns into an integer. */
const MAX_INT_DIGITS = 20;

/** The server's limits for the small encodings (redis.conf `*-max-listpack-*`, `set-max-intset-entries`). */
export interface EncodingLimits {
  hashEntries: number;
  hashValue: number;
  zsetEntries: number;
  zsetValue: number;
  intsetEntries: number;
  /** list-max-listpack-size: negative is a node size class (-2 = 8 KB), positive a count. */
  listNodeSize: number;
}

/** Redis 7's defaults (redis.conf). */
export const DEFAULT_LIMITS: EncodingLimits = {
  hashEntries: 128,
  hashValue: 64,
  zsetEntries: 128,
  zsetValue: 64,
  intsetEntries: 512,
  listNodeSize: -2,
};

/** redis.conf directive (and its pre-7.0 alias) → limit. */
const DIRECTIVES: Record<string, keyof EncodingLimits> = {
  'hash-max-listpack-entries': 'hashEntries',
  'hash-max-ziplist-entries': 'hashEntries',
  'hash-max-listpack-value': 'hashValue',
  'hash-max-ziplist-value': 'hashValue',
  'zset-max-listpack-entries': 'zsetEntries',
  'zset-max-ziplist-entries': 'zsetEntries',
  'zset-max-listpack-value': 'zsetValue',
  'zset-max-ziplist-value': 'zsetValue',
  'set-max-intset-entries': 'intsetEntries',
  'list-max-listpack-size': 'listNodeSize',
  'list-max-ziplist-size': 'listNodeSize',
};

/** The limits set in a redis.conf text (or CONFIG GET pairs); others keep Redis' defaults. */
export function limitsFromConfig(entries: Iterable<[string, string]>): EncodingLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of entries) {
    const field = DIRECTIVES[name.toLowerCase()];
    if (field && /^-?\d+$/.test(value.trim())) limits[field] = Number(value);
  }
  return limits;
}

/** Bytes one listpack entry takes: encoding, data and back-length. */
export function lpEntrySize(len: number, int: number | undefined): number {
  if (int !== undefined) {
    if (int >= 0 && int <= 127) return 2;
    if (int >= -4096 && int <= 4095) return 3;
    if (int >= -32768 && int <= 32767) return 4;
    if (int >= -8388608 && int <= 8388607) return 5;
    if (int >= -2147483648 && int <= 2147483647) return 6;
    return 10;
  }
  const head = len < 64 ? 1 : len < 4096 ? 2 : 5;
  const entry = head + len;
  return entry + (entry < 128 ? 1 : entry < 16384 ? 2 : entry < 2097152 ? 3 : entry < 268435456 ? 4 : 5);
}

/** Listpack header (total bytes + count) and end byte. */
export const LP_OVERHEAD = 7;

/** The value of a string when lpAppend / tryObjectEncoding would store it as an integer. */
export function asInteger(buf: Uint8Array, len: number): number | undefined {
  return asIntegerAt(buf, 0, len);
}

/** `asInteger` of the `len` bytes at `buf[at]`. */
export function asIntegerAt(buf: Uint8Array, at: number, len: number): number | undefined {
  if (len === 0 || len > MAX_INT_DIGITS) return undefined;
  let i = at;
  const end = at + len;
  const neg = buf[at] === 45;
  if (neg) i++;
  if (i >= end || (buf[i] === 48 && end > i + 1) || (neg && buf[i] === 48)) return undefined;
  let v = 0;
  for (; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  // Beyond 2^53 the double is inexact; such values take the int64 class anyway.
  if (v > 2 ** 63) return undefined;
  return neg ? -v : v;
}

export function stringBytes(len: number, int: number | undefined): number {
  if (int !== undefined) return ROBJ;
  if (len <= EMBSTR_LIMIT) return jeSize(ROBJ + 3 + len + 1);
  return ROBJ + sdsAlloc(len);
}

/** What MEMORY USAGE adds for the key itself: its sds and the main dict's entry. */
export function keyBytes(keyLen: number): number {
  return sdsAlloc(keyLen) + DICT_ENTRY;
}

/**
 * Table slots of a dict after `n` adds starting from `initial` slots (0 = not allocated),
 * counting both tables while an incremental rehash is still under way: each add moves one
 * bucket, and a table at load factor 1 has about 37% empty buckets that the step skips.
 */
export function dictSlots(n: number, initial = 0): number {
  let size = initial;
  let used = 0;
  let old = 0;
  let rehashLeft = 0;
  for (let grown = 0; used < n; grown++) {
    if (size === 0) size = 4;
    if (used >= size) {
      old = size;
      size = nextPow2(used + 1);
      rehashLeft = Math.ceil(old * 0.63);
    }
    // Jump to the next expansion (or the end) in one step.
    const next = Math.min(n, size);
    const adds = next - used;
    rehashLeft = Math.max(0, rehashLeft - adds);
    used = next;
    if (used === n) break;
    if (grown > 70) break;
  }
  return rehashLeft > 0 ? size + old : size;
}

export function nextPow2(n: number): number {
  let s = 4;
  while (s < n) s *= 2;
  return s;
}

/** Expected zmalloc_size of a skiplist node (random level, p = 1/4, max 32). */
const SKIPLIST_NODE = (() => {
  let sum = 0;
  let p = 0.75;
  for (let level = 1; level <= 32; level++) {
    const share = level === 32 ? p / 0.75 : p;
    sum += share * jeSize(24 + 16 * level);
    p *= 0.25;
  }
  return sum;
})();
const SKIPLIST_HEADER = jeSize(24 + 16 * 32);
const ZSET = 16;
const ZSKIPLIST = 32;

/**
 * Accumulates one collection's elements (members, or field/value pairs) and prices it in
 * the encoding Redis would give it on load.
 */
export class CollectionCost {
  count = 0;
  maxLen = 0;
  lpBytes = LP_OVERHEAD;
  sdsBytes = 0;
  allInts = true;
  minInt = 0;
  maxInt = 0;
  /** Elements added before the first one too long for a listpack (-1: none). */
  firstLong = -1;

  add(len: number, int: number | undefined, longLimit: number): void {
    if (len > this.maxLen) this.maxLen = len;
    if (this.firstLong < 0 && len > longLimit) this.firstLong = this.count;
    this.count++;
    this.lpBytes += lpEntrySize(len, int);
    this.sdsBytes += sdsAlloc(len);
    if (int === undefined) this.allInts = false;
    else {
      if (int < this.minInt) this.minInt = int;
      if (int > this.maxInt) this.maxInt = int;
    }
  }

  /** A set of `count` members. */
  set(limits: EncodingLimits): number {
    if (this.allInts && this.count <= limits.intsetEntries) {
      const width = this.minInt >= -32768 && this.maxInt <= 32767 ? 2 : this.minInt >= -2147483648 && this.maxInt <= 2147483647 ? 4 : 8;
      return ROBJ + jeSize(8 + this.count * width);
    }
    // Measured on 7.0: whether presized or grown from an intset, the table ends rehashed.
    return ROBJ + DICT + 8 * nextPow2(this.count) + this.sdsBytes + this.count * DICT_ENTRY;
  }

  /** A hash: elements were added field, value, field, value. */
  hash(limits: EncodingLimits): number {
    const pairs = this.count / 2;
    if (pairs <= limits.hashEntries && this.maxLen <= limits.hashValue) return ROBJ + jeSize(this.lpBytes);
    return ROBJ + DICT + 8 * hashSlots(pairs, this.firstLong, limits) + this.sdsBytes + pairs * DICT_ENTRY;
  }
}

/** Dict slots of a hash loaded from a dump (rdb.c: listpack first, converted on the first long element). */
function hashSlots(pairs: number, firstLongElement: number, limits: EncodingLimits): number {
  if (pairs > limits.hashEntries) return pairs > 4 ? nextPow2(pairs) : 4;
  const before = Math.floor(Math.max(firstLongElement, 0) / 2);
  const remaining = pairs - before;
  // hashTypeConvertListpack presizes for the pairs so far, then the load presizes for the rest.
  const initial = before > 0 ? nextPow2(before) : 4;
  const target = remaining > 4 ? nextPow2(remaining) : initial;
  return dictSlots(pairs, Math.max(initial, target));
}

/** A sorted set priced from its members (lengths) and the listpack form of member+score. */
export function zsetBytes(members: CollectionCost, lpBytes: number, limits: EncodingLimits): number {
  const n = members.count;
  if (n <= limits.zsetEntries && members.maxLen <= limits.zsetValue) return ROBJ + jeSize(lpBytes);
  const slots = n > 4 ? nextPow2(n) : 4;
  return ROBJ + ZSET + ZSKIPLIST + DICT + 8 * slots + SKIPLIST_HEADER + members.sdsBytes + n * (DICT_ENTRY + SKIPLIST_NODE);
}

/** A list: quicklist of listpack nodes (Redis 7.0 has no listpack-only lists). */
export function quicklistBytes(nodeAllocs: number, nodes: number): number {
  return ROBJ + QUICKLIST + nodeAllocs + nodes * QUICKLIST_NODE;
}

/**
 * Packs list elements into 8 KB listpack nodes as quicklistPushTail does, for lists that
 * arrive element by element (linked lists and ziplists of old dumps).
 */
export class QuicklistPacker {
  nodes = 0;
  allocs = 0;
  private current = 0;
  private entries = 0;
  private readonly maxBytes: number;
  private readonly maxEntries: number;

  constructor(limits: EncodingLimits) {
    const fill = limits.listNodeSize;
    this.maxBytes = fill < 0 ? 4096 * 2 ** (Math.min(-fill, 5) - 1) : 8192;
    this.maxEntries = fill > 0 ? fill : Infinity;
  }

  add(len: number, int: number | undefined): void {
    const size = lpEntrySize(len, int);
    if (this.current === 0 || this.current + size > this.maxBytes || this.entries >= this.maxEntries) {
      this.flush();
      this.current = LP_OVERHEAD;
      this.entries = 0;
      this.nodes++;
    }
    this.current += size;
    this.entries++;
  }

  flush(): void {
    if (this.current > 0) this.allocs += jeSize(this.current);
    this.current = 0;
  }
}

/** Redis' %.17g of a score, as zzlInsertAt writes it into a listpack. */
export function scoreText(score: number): string {
  if (Number.isInteger(score) && Math.abs(score) < 2 ** 53) return String(score);
  if (!Number.isFinite(score)) return Number.isNaN(score) ? 'nan' : score > 0 ? 'inf' : '-inf';
  const exp = Math.floor(Math.log10(Math.abs(score)));
  if (exp < -4 || exp >= 17) {
    const [mant, e] = score.toExponential(16).split('e');
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const fixed = score.toPrecision(17);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

export { ROBJ, DICT_ENTRY };
