/**
 * One reader per RDB value type: each walks the value (skipping what it does not need),
 * counts its elements and prices it with the memory model. With `keep`, it also returns the
 * content (tests, conformance): never on the audit path, where a huge value is only walked.
 */
import { BlobCorruption, walkIntset, walkListpack, walkZiplist, walkZipmap, type EntryVisitor } from './encodings.js';
import { CollectionCost, jeSize, lpEntrySize, asIntegerAt, QuicklistPacker, quicklistBytes, scoreText, stringBytes, zsetBytes, ROBJ } from './memory.js';
import { readStream } from './stream.js';
import type { HashField, RdbValue, ValueContext } from './value.js';

export type { HashField, RdbContent, RdbValue, ValueContext } from './value.js';

type Reader = (ctx: ValueContext) => RdbValue;

function copy(b: Buffer | undefined, len: number, int: number | bigint | undefined): Buffer {
  if (int !== undefined && !b) return Buffer.from(String(int));
  return Buffer.from(b ?? Buffer.alloc(0)).subarray(0, len);
}

/** Read a blob and walk it, turning a BlobCorruption into an offset in the file. */
function walkBlob(ctx: ValueContext, walk: (blob: Buffer, visit: EntryVisitor) => number, visit: EntryVisitor): { blob: Buffer; n: number } {
  const at = ctx.input.offset;
  // A view of the window (or a copy when bigger): the walk reads nothing else, and kept entries are copied.
  const blob = ctx.s.blob();
  try {
    return { blob, n: walk(blob, visit) };
  } catch (err) {
    if (err instanceof BlobCorruption) ctx.input.fail(err.message, at);
    throw err;
  }
}

/** `asInteger` of a text that is all ASCII (a score as Redis prints it), without a Buffer. */
function textInteger(text: string): number | undefined {
  const n = text.length;
  if (n > 24) return undefined;
  for (let i = 0; i < n; i++) SCRATCH[i] = text.charCodeAt(i);
  return asIntegerAt(SCRATCH, 0, n);
}

const SCRATCH = new Uint8Array(24);

function numeric(v: number | bigint | undefined): number | undefined {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Entries as [len, int, bytes] for the pricing and (kept) the content. */
function collect(ctx: ValueContext, out: Buffer[] | undefined, each: (len: number, int: number | undefined) => void): EntryVisitor {
  return (blob, start, len, int) => {
    const n = int !== undefined ? numeric(int) : asIntegerAt(blob, start, len);
    each(len, n);
    if (out) out.push(int !== undefined ? Buffer.from(String(int)) : Buffer.from(blob.subarray(start, start + len)));
  };
}

const readString: Reader = (ctx) => {
  ctx.s.element(ctx.keep);
  const { len, int } = ctx.s;
  return {
    type: 'string',
    encoding: int !== undefined ? 'int' : 'string',
    length: len,
    bytes: stringBytes(len, int),
    content: ctx.keep ? copy(ctx.s.bytes, len, int) : undefined,
  };
};

function members(ctx: ValueContext, n: number, each: (len: number, int: number | undefined) => void): Buffer[] | undefined {
  const out: Buffer[] | undefined = ctx.keep ? [] : undefined;
  for (let i = 0; i < n; i++) {
    ctx.s.element(ctx.keep);
    each(ctx.s.len, ctx.s.int);
    out?.push(copy(ctx.s.bytes, ctx.s.len, ctx.s.int));
  }
  return out;
}

const readLinkedList: Reader = (ctx) => {
  const n = ctx.s.count('list');
  const packer = new QuicklistPacker(ctx.limits);
  const content = members(ctx, n, (len, int) => packer.add(len, int));
  packer.flush();
  return { type: 'list', encoding: 'linkedlist', length: n, bytes: quicklistBytes(packer.allocs, packer.nodes), content };
};

const readSet: Reader = (ctx) => {
  const n = ctx.s.count('set');
  const cost = new CollectionCost();
  const content = members(ctx, n, (len, int) => cost.add(len, int, Infinity));
  return { type: 'set', encoding: 'hashtable', length: n, bytes: cost.set(ctx.limits), content };
};

function zsetReader(binaryScores: boolean): Reader {
  return (ctx) => {
    const n = ctx.s.count('sorted set');
    const cost = new CollectionCost();
    let lp = 7;
    const content: Array<[Buffer, number]> | undefined = ctx.keep ? [] : undefined;
    for (let i = 0; i < n; i++) {
      ctx.s.element(ctx.keep);
      const { len, int } = ctx.s;
      const member = content ? copy(ctx.s.bytes, len, int) : undefined;
      const score = binaryScores ? ctx.input.f64le() : ctx.s.textDouble();
      if (Number.isNaN(score)) ctx.input.fail('sorted set score is NaN');
      cost.add(len, int, Infinity);
      const text = scoreText(score);
      lp += lpEntrySize(len, int) + lpEntrySize(text.length, textInteger(text));
      if (content && member) content.push([member, score]);
    }
    return { type: 'zset', encoding: 'skiplist', length: n, bytes: zsetBytes(cost, lp, ctx.limits), content };
  };
}

const readHash: Reader = (ctx) => {
  const n = ctx.s.count('hash');
  const cost = new CollectionCost();
  const content: HashField[] | undefined = ctx.keep ? [] : undefined;
  for (let i = 0; i < n; i++) {
    ctx.s.element(ctx.keep);
    cost.add(ctx.s.len, ctx.s.int, ctx.limits.hashValue);
    const field = content ? copy(ctx.s.bytes, ctx.s.len, ctx.s.int) : undefined;
    ctx.s.element(ctx.keep);
    cost.add(ctx.s.len, ctx.s.int, ctx.limits.hashValue);
    if (content && field) content.push([field, copy(ctx.s.bytes, ctx.s.len, ctx.s.int), 0]);
  }
  return { type: 'hash', encoding: 'hashtable', length: n, bytes: cost.hash(ctx.limits), content };
};

/** Pairs from a flat entry list (ziplist/listpack/zipmap hashes). */
function pairs(flat: Buffer[] | undefined): HashField[] | undefined {
  if (!flat) return undefined;
  const out: HashField[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1], 0]);
  return out;
}

function blobHash(walk: (blob: Buffer, visit: EntryVisitor) => number, encoding: string, keepBlob: boolean): Reader {
  return (ctx) => {
    const cost = new CollectionCost();
    const flat: Buffer[] | undefined = ctx.keep ? [] : undefined;
    const { blob, n } = walkBlob(
      ctx,
      walk,
      collect(ctx, flat, (len, int) => cost.add(len, int, ctx.limits.hashValue)),
    );
    const small = n / 2 <= ctx.limits.hashEntries && cost.maxLen <= ctx.limits.hashValue;
    const bytes = keepBlob && small ? ROBJ + jeSize(blob.length) : cost.hash(ctx.limits);
    return { type: 'hash', encoding, length: n / 2, bytes, content: pairs(flat) };
  };
}

const readIntset: Reader = (ctx) => {
  const cost = new CollectionCost();
  const flat: Buffer[] | undefined = ctx.keep ? [] : undefined;
  const { n } = walkBlob(
    ctx,
    walkIntset,
    collect(ctx, flat, (len, int) => cost.add(len, int, Infinity)),
  );
  return { type: 'set', encoding: 'intset', length: n, bytes: cost.set(ctx.limits), content: flat };
};

const readSetListpack: Reader = (ctx) => {
  const cost = new CollectionCost();
  const flat: Buffer[] | undefined = ctx.keep ? [] : undefined;
  const { blob, n } = walkBlob(
    ctx,
    walkListpack,
    collect(ctx, flat, (len, int) => cost.add(len, int, Infinity)),
  );
  // Redis 7.0 has no listpack sets: priced as Redis 7.2 holds them (the blob as loaded).
  const bytes =
    cost.allInts && n <= ctx.limits.intsetEntries
      ? cost.set(ctx.limits)
      : n <= ctx.limits.zsetEntries && cost.maxLen <= ctx.limits.zsetValue
        ? ROBJ + jeSize(blob.length)
        : cost.set(ctx.limits);
  return { type: 'set', encoding: 'listpack', length: n, bytes, content: flat };
};

function blobZset(walk: (blob: Buffer, visit: EntryVisitor) => number, encoding: string, keepBlob: boolean): Reader {
  return (ctx) => {
    const cost = new CollectionCost();
    const flat: Buffer[] | undefined = ctx.keep ? [] : undefined;
    let i = 0;
    let lp = 7;
    const { blob, n } = walkBlob(
      ctx,
      walk,
      collect(ctx, flat, (len, int) => {
        if (i++ % 2 === 0) cost.add(len, int, Infinity);
        lp += lpEntrySize(len, int);
      }),
    );
    const content: Array<[Buffer, number]> | undefined = flat ? [] : undefined;
    if (flat && content) for (let j = 0; j + 1 < flat.length; j += 2) content.push([flat[j], Number(flat[j + 1].toString())]);
    const small = n / 2 <= ctx.limits.zsetEntries && cost.maxLen <= ctx.limits.zsetValue;
    return { type: 'zset', encoding, length: n / 2, bytes: keepBlob && small ? ROBJ + jeSize(blob.length) : zsetBytes(cost, lp, ctx.limits), content };
  };
}

const readListZiplist: Reader = (ctx) => {
  let lp = 7;
  const flat: Buffer[] | undefined = ctx.keep ? [] : undefined;
  const { n } = walkBlob(
    ctx,
    walkZiplist,
    collect(ctx, flat, (len, int) => (lp += lpEntrySize(len, int))),
  );
  return { type: 'list', encoding: 'ziplist', length: n, bytes: quicklistBytes(jeSize(lp), 1), content: flat };
};

function readQuicklist(version: 1 | 2): Reader {
  return (ctx) => {
    const nodes = ctx.s.count('quicklist');
    const flat: Buffer[] | undefined = ctx.keep ? [] : undefined;
    let length = 0;
    let allocs = 0;
    let kept = 0;
    for (let i = 0; i < nodes; i++) {
      const container = version === 2 ? ctx.s.length() : 2;
      if (container === 1) {
        ctx.s.element(ctx.keep);
        flat?.push(copy(ctx.s.bytes, ctx.s.len, ctx.s.int));
        allocs += jeSize(ctx.s.len);
        length++;
        kept++;
        continue;
      }
      if (container !== 2) ctx.input.fail(`unknown quicklist container ${container}`);
      let lp = 7;
      const { blob, n } = walkBlob(
        ctx,
        version === 2 ? walkListpack : walkZiplist,
        collect(ctx, flat, (len, int) => (lp += lpEntrySize(len, int))),
      );
      // Empty nodes are dropped on load.
      if (n === 0) continue;
      allocs += jeSize(version === 2 ? blob.length : lp);
      length += n;
      kept++;
    }
    return { type: 'list', encoding: 'quicklist', length, bytes: quicklistBytes(allocs, kept), content: flat };
  };
}

/** Hash with per-field TTLs: Redis 7.4 (`ttl, field, value`; relative to a minimum) or Valkey 9 (`field, value, expire`). */
function fieldExpiryHash(form: 'redis' | 'redis-pre-ga' | 'valkey'): Reader {
  return (ctx) => {
    const minExpire = form === 'redis' ? ctx.input.i64le() : 0;
    const n = ctx.s.count('hash');
    const cost = new CollectionCost();
    const content: HashField[] | undefined = ctx.keep ? [] : undefined;
    let volatile = 0;
    let last = 0;
    for (let i = 0; i < n; i++) {
      let expireAt = 0;
      if (form === 'redis') {
        const ttl = ctx.s.length();
        expireAt = ttl === 0 ? 0 : ttl + minExpire - 1;
      } else if (form === 'redis-pre-ga') expireAt = ctx.input.i64le();
      ctx.s.element(ctx.keep);
      cost.add(ctx.s.len, ctx.s.int, ctx.limits.hashValue);
      const field = content ? copy(ctx.s.bytes, ctx.s.len, ctx.s.int) : undefined;
      ctx.s.element(ctx.keep);
      cost.add(ctx.s.len, ctx.s.int, ctx.limits.hashValue);
      const value = content ? copy(ctx.s.bytes, ctx.s.len, ctx.s.int) : undefined;
      if (form === 'valkey') {
        expireAt = ctx.input.i64le();
        if (expireAt < 0) expireAt = 0;
      }
      if (expireAt > 0) {
        volatile++;
        last = Math.max(last, expireAt);
      }
      if (content && field && value) content.push([field, value, expireAt]);
    }
    return { type: 'hash', encoding: 'hashtable-ex', length: n, bytes: cost.hash(ctx.limits), fieldExpiry: { volatile, lastExpireAtMs: last }, content };
  };
}

/** Listpack hash with a TTL after each field/value pair (Redis 7.4 HASH_LISTPACK_EX). */
function listpackExHash(withMin: boolean): Reader {
  return (ctx) => {
    if (withMin) ctx.input.i64le();
    const cost = new CollectionCost();
    const flat: Buffer[] = [];
    const ttls: number[] = [];
    let i = 0;
    const { blob, n } = walkBlob(ctx, walkListpack, (b, start, len, int) => {
      if (i++ % 3 === 2) {
        ttls.push(int === undefined ? -1 : Number(int));
        return;
      }
      const v = int !== undefined ? numeric(int) : asIntegerAt(b, start, len);
      cost.add(len, v, ctx.limits.hashValue);
      if (ctx.keep) flat.push(int !== undefined ? Buffer.from(String(int)) : Buffer.from(b.subarray(start, start + len)));
    });
    if (n % 3 !== 0 || ttls.some((t) => t < 0)) ctx.input.fail('listpack hash with field expiry is not field/value/ttl triplets');
    const volatile = ttls.filter((t) => t > 0).length;
    const content = ctx.keep ? flat.reduce<HashField[]>((out, b, j) => (j % 2 === 1 ? [...out, [flat[j - 1], b, ttls[(j - 1) / 2]]] : out), []) : undefined;
    const small = n / 3 <= ctx.limits.hashEntries && cost.maxLen <= ctx.limits.hashValue;
    return {
      type: 'hash',
      encoding: 'listpack-ex',
      length: n / 3,
      bytes: small ? ROBJ + jeSize(blob.length) : cost.hash(ctx.limits),
      fieldExpiry: { volatile, lastExpireAtMs: Math.max(0, ...ttls) },
      content,
    };
  };
}

const MODULE_CHARSET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The 9-character type name packed in a module type id. */
export function moduleTypeName(id: bigint): string {
  let name = '';
  for (let i = 0; i < 9; i++) name += MODULE_CHARSET[Number((id >> BigInt(64 - 6 * (i + 1))) & 63n)];
  return name;
}

/** Skip module-serialised data (opcode + value, until the EOF opcode). */
export function skipModuleData(ctx: ValueContext): void {
  for (let guard = 0; ; guard++) {
    const op = ctx.s.length();
    if (op === 0) return;
    if (op === 1 || op === 2) ctx.s.length();
    else if (op === 3) ctx.input.skip(4, 'module float');
    else if (op === 4) ctx.input.skip(8, 'module double');
    else if (op === 5) ctx.s.skip();
    else ctx.input.fail(`unknown module data opcode ${op}`);
    if (guard > 1e9) ctx.input.fail('module data never ends');
  }
}

const readModule: Reader = (ctx) => {
  const id = ctx.s.lengthBig();
  const start = ctx.input.offset;
  skipModuleData(ctx);
  return { type: moduleTypeName(id), encoding: 'module', length: -1, bytes: ctx.input.offset - start, content: null };
};

const readModulePreGa: Reader = (ctx) => ctx.input.fail('a module value in the pre-release format (RDB type 6) cannot be skipped safely');

/** RDB value type byte → reader. Redis and Valkey disagree on 22; see `readerFor`. */
const READERS: Record<number, Reader> = {
  0: readString,
  1: readLinkedList,
  2: readSet,
  3: zsetReader(false),
  4: readHash,
  5: zsetReader(true),
  6: readModulePreGa,
  7: readModule,
  9: blobHash(walkZipmap, 'zipmap', false),
  10: readListZiplist,
  11: readIntset,
  12: blobZset(walkZiplist, 'ziplist', false),
  13: blobHash(walkZiplist, 'ziplist', false),
  14: readQuicklist(1),
  15: (ctx) => readStream(ctx, 1),
  16: blobHash(walkListpack, 'listpack', true),
  17: blobZset(walkListpack, 'listpack', true),
  18: readQuicklist(2),
  19: (ctx) => readStream(ctx, 2),
  20: readSetListpack,
  21: (ctx) => readStream(ctx, 3),
  22: fieldExpiryHash('redis-pre-ga'),
  23: listpackExHash(false),
  24: fieldExpiryHash('redis'),
  25: listpackExHash(true),
};

const VALKEY_HASH_2 = fieldExpiryHash('valkey');

/** The reader for a value type byte, or undefined when it is not a value type. */
export function readerFor(type: number, valkey: boolean): Reader | undefined {
  if (valkey && type === 22) return VALKEY_HASH_2;
  return READERS[type];
}
