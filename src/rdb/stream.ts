/**
 * Streams (RDB types 15, 19, 21): listpacks of entries keyed by stream ID, then the stream
 * metadata and its consumer groups with their pending entries. v2 adds first/max-deleted
 * IDs and entries-added, and each group's entries-read; v3 adds each consumer's active time.
 */
import { BlobCorruption, walkListpack } from './encodings.js';
import { jeSize, ROBJ } from './memory.js';
import type { RdbValue, ValueContext } from './values.js';

/** objectComputeSize's stream figures (object.c); rax node counts are estimates. */
const STREAM = 80;
const STREAM_ID = 16;
const RAX_NODE = 4;
const STREAM_CG = 40;
const STREAM_NACK = 24;
const STREAM_CONSUMER = 32;

function raxBytes(elements: number): number {
  // A rax of 16-byte big-endian IDs: about two nodes per element (a key node and its split).
  return elements * STREAM_ID + (elements * 2 + 1) * RAX_NODE;
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
  for (let i = 0; i < listpacks; i++) {
    const at = input.offset;
    const nodeKey = s.string();
    if (nodeKey.length !== 16) input.fail(`stream node key of ${nodeKey.length} bytes (expected 16)`, at);
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
  bytes += raxBytes(listpacks);
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
    for (let p = 0; p < pel; p++) {
      input.skip(16, 'pending entry id');
      input.i64le();
      s.length();
    }
    bytes += STREAM_CG + raxBytes(pel) + pel * STREAM_NACK;
    const consumers = s.count('stream consumers');
    for (let c = 0; c < consumers; c++) {
      const cname = s.skip();
      input.i64le();
      if (version >= 3) input.i64le();
      const cpel = s.count('consumer pending entries');
      input.skip(cpel * 16, 'consumer pending ids');
      bytes += STREAM_CONSUMER + cname + raxBytes(cpel);
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
