/**
 * The client half of `fix-step.lua`: one call gives the keys of an earlier step a TTL
 * (PEXPIRE … NX, reported per key as fix-expire.lua does) and then reads SCAN pages on for
 * the rest of its time budget. Keys travel packed in one binary string each way: one
 * argument is far cheaper to send and parse than hundreds.
 */
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../lua/index.js';
import { isPermissionDenied } from '../target/errors.js';
import { decodeWriteReply, measureArg, type Measure, type WriteResult } from './writer.js';

export interface StepRequest {
  /** SCAN cursor to read on from; undefined to write only (the walk of this database is done). */
  cursor?: string;
  /** SCAN COUNT per page. */
  pageCount: number;
  /** Time the reading may take, counting each key read at `writeMsPerKey` more. */
  budgetMs: number;
  /** Most keys to read, 0 for no limit. */
  maxKeys: number;
  match?: string;
  /** Estimated server time a key read now will cost when written. */
  writeMsPerKey: number;
  /** Which keys written get MEMORY USAGE: all, none, or a mask (see `Measure`). */
  measure: Measure;
  /** Keys to give a TTL, as `packKeys` packs them. */
  writes: PackedKeys;
}

/** Keys (and their TTLs) packed for fix-step.lua. */
export interface PackedKeys {
  count: number;
  /** The TTL of every key, or '*' when each key carries its own in `blob`. */
  ttl: string;
  blob: Buffer;
}

export interface StepReply {
  /** The answers for the keys written; decoded on demand, after the next call is sent. */
  writes(): WriteResult;
  /** Where the next step reads on: '0' when the walk is done, undefined after a write-only step. */
  next?: string;
  /** Keys read, packed ('<I4' length, then the key): decode with `unpackKeys`. */
  keys: Buffer;
  serverMs: number;
  writeMs: number;
  /** SCAN pages read. */
  pages: number;
}

export const NO_WRITES: PackedKeys = { count: 0, ttl: '0', blob: Buffer.alloc(0) };

const SCRIPTS_UNAVAILABLE = /NOSCRIPT|scripts? (are|is) disabled|unknown command/i;

/** Runs fix-step.lua on one connection. */
export class StepScript {
  private readonly script = luaScript('fix-step');

  constructor(private readonly conn: Redis) {}

  /** False when this user may not run scripts here (fix then falls back to SCAN plus pipelined writes). */
  async available(): Promise<boolean> {
    try {
      await this.step({ pageCount: 1, budgetMs: 0, maxKeys: 0, writeMsPerKey: 0, measure: false, writes: NO_WRITES });
      return true;
    } catch (err) {
      if (isPermissionDenied(err) || SCRIPTS_UNAVAILABLE.test((err as Error).message)) return false;
      throw err;
    }
  }

  async step(r: StepRequest): Promise<StepReply> {
    const args = [
      r.cursor ?? '',
      String(Math.max(1, Math.round(r.pageCount))),
      String(Math.round(r.budgetMs * 1000)),
      String(Math.max(0, Math.round(r.maxKeys))),
      r.match ?? '',
      String(Math.max(0, r.writeMsPerKey * 1000)),
      measureArg(r.measure),
      r.writes.ttl,
      r.writes.blob,
    ];
    const [tokens, next, keys, micros, writeMicros, pages] = (await runScript(this.conn, this.script, args)) as [
      Buffer,
      Buffer,
      Buffer,
      number,
      number,
      number,
    ];
    const cursor = next.toString();
    const count = r.writes.count;
    return {
      writes: () => decodeWriteReply(tokens.toString('latin1'), count, r.measure),
      next: cursor === '' ? undefined : cursor,
      keys,
      serverMs: Number(micros) / 1000,
      writeMs: Number(writeMicros) / 1000,
      pages: Number(pages),
    };
  }
}

/** Views of the keys in a step's packed reply (no copies: they live as long as the reply). */
export function unpackKeys(packed: Buffer): Buffer[] {
  const keys: Buffer[] = [];
  for (let o = 0; o < packed.length;) {
    const length = packed.readUInt32LE(o);
    keys.push(packed.subarray(o + 4, o + 4 + length));
    o += 4 + length;
  }
  return keys;
}

/**
 * Pack keys and TTLs for a step's writes. `read` is the packed reply the keys came from: when
 * every key it holds is written with one TTL (one rule, no jitter), it is sent back as it is.
 */
export function packKeys(keys: Buffer[], ttls: number[], read?: { packed: Buffer; count: number }): PackedKeys {
  if (keys.length === 0) return NO_WRITES;
  const uniform = ttls.every((t) => t === ttls[0]);
  if (uniform && read && read.count === keys.length) return { count: keys.length, ttl: String(ttls[0]), blob: read.packed };
  const header = uniform ? 4 : 12;
  let size = 0;
  for (const k of keys) size += header + k.length;
  const blob = Buffer.allocUnsafe(size);
  let o = 0;
  keys.forEach((k, i) => {
    o = blob.writeUInt32LE(k.length, o);
    if (!uniform) o = blob.writeDoubleLE(ttls[i], o);
    o += k.copy(blob, o);
  });
  return { count: keys.length, ttl: uniform ? String(ttls[0]) : '*', blob };
}
