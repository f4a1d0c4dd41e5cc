/**
 * Streams (RDB types 15, 19, 21): listpacks of entries keyed by stream ID, then the stream
 * metadata and its consumer groups with their pending entries. v2 adds first/max-deleted
 * IDs and entries-added, and each group's entries-read; v3 adds each consumer's active time.
 */
import { BlobCorruption, walkListpack } from './encodings.js';
import { jeSize, ROBJ } from './memory.js';
import type { RdbValue, ValueContext } from './value.js';

/** objectComputeSize's stream figures (object.c, Redis 7.0). */
const STREAM = 80;
const STREAM_ID = 16;
/** sizeof(raxNode) plus the fixed 30 longs streamRadixTreeMemoryUsage adds per node. */
const RAX_NODE = 4 + 8 * 30;
const STREAM_CG = 40;
const STREAM_NACK = 24;
const STREAM_CONSUMER = 24;
/** Above this many IDs, a rax's node count is estimated instead of counted (bounded memory). */
const MAX_IDS = 1 << 20;

/**
 * Nodes of the rax holding `ids` (sorted, 16 bytes each): a radix tree whose single-child
 * chains are one compressed node, each key ending in its own (empty) node.
 */
export function raxNodes(ids: readonly Buffer[], lo = 0, hi = ids.length, depth = 0): number {
  if (hi - lo === 0) return 1;
  if (depth === STREAM_ID) return 1;
  if (hi - lo === 1) return 2;
  let p = depth;
  while (p < STREAM_ID && ids[lo][p] === ids[hi - 1][p]) p++;
  let n = p > depth ? 2 : 1;
  for (let i = lo; i < hi;) {
    let j = i;
    while (j < hi && ids[j][p] === ids[i][p]) j++;
    n += raxNodes(ids, i, j, p + 1);
    i = j;
  }
  return n;
}

/** streamRadixTreeMemoryUsage of a rax of stream IDs; `count` when the IDs were not all kept. */
function raxBytes(ids: readonly Buffer[], count: number): number {
  const nodes = ids.length === count ? raxNodes(ids) : Math.round(count * 2.2) + 1;
  return count * STREAM_ID + nodes * RAX_NODE;
}

/** Read `n` 16-byte stream IDs, keeping them (up to MAX_IDS) for the rax node count. */
function readIds(ctx: ValueContext, n: number, withNack: boolean): Buffer[] {
  const ids: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const id = ctx.input.view(16);
    if (ids.length < MAX_IDS) ids.push(Buffer.from(id));
    if (withNack) {
      ctx.input.i64le();
      ctx.s.length();
    }
  }
  return ids;
}

interface GroupSummary {
  name: string;
  pending: number;
  consumers: number;
}

export function readStream(ctx: ValueContext, version: 1 | 2 | 3): RdbValue {
  const { s, input } = ctx;
  const listpacks = s.count('stream listpacks');
  let bytes = ROBJ + STREAM;
  const nodeKeys: Buffer[] = [];
  for (let i = 0; i < listpacks; i++) {
    const at = input.offset;
    const nodeKey = s.string();
    if (nodeKey.length !== 16) input.fail(`stream node key of ${nodeKey.length} bytes (expected 16)`, at);
    if (nodeKeys.length < MAX_IDS) nodeKeys.push(nodeKey);
    const lpAt = input.offset;
    const lp = s.string();
    try {
      if (walkListpack(lp, () => undefined) === 0) input.fail('empty stream listpack', lpAt);
    } catch (err) {
      if (err instanceof BlobCorruption) input.fail(err.message, lpAt);
      throw err;
    }
    bytes += jeSize(lp.length);
  }
  bytes += raxBytes(nodeKeys, listpacks);
  const length = s.length();
  const lastId = `${s.length()}-${s.length()}`;
  let entriesAdded = length;
  if (version >= 2) {
    s.length();
    s.length();
    s.length();
    s.length();
    entriesAdded = s.length();
  }
  const groupCount = s.count('stream groups');
  const groups: GroupSummary[] = [];
  for (let g = 0; g < groupCount; g++) {
    const name = s.string().toString();
    s.length();
    s.length();
    if (version >= 2) s.length();
    const pel = s.count('stream pending entries');
    bytes += STREAM_CG + raxBytes(readIds(ctx, pel, true), pel) + pel * STREAM_NACK;
    const consumers = s.count('stream consumers');
    for (let c = 0; c < consumers; c++) {
      const cname = s.skip();
      input.i64le();
      if (version >= 3) input.i64le();
      const cpel = s.count('consumer pending entries');
      bytes += STREAM_CONSUMER + cname + raxBytes(readIds(ctx, cpel, false), cpel);
    }
    groups.push({ name, pending: pel, consumers });
  }
  return {
    type: 'stream',
    encoding: `listpacks-v${version}`,
    length,
    bytes,
    content: ctx.keep ? { length, lastId, entriesAdded, groups } : undefined,
  };
}
