/**
 * What a value reader returns and what it reads with: the types values.ts and stream.ts share
 * (kept apart so that neither imports the other for them).
 */
import type { ByteInput } from './input.js';
import type { EncodingLimits } from './memory.js';
import type { RdbStrings } from './strings.js';

/** A hash field's absolute expiry in Unix ms; 0 when the field has none. */
export type HashField = [field: Buffer, value: Buffer, expireAtMs: number];

export type RdbContent = Buffer | Buffer[] | Array<[member: Buffer, score: number]> | HashField[] | Record<string, unknown> | null;

export interface RdbValue {
  type: string;
  /** The encoding as stored in the dump (quicklist, listpack, ziplist, intset, hashtable…). */
  encoding: string;
  /** Elements (string length for strings). */
  length: number;
  /** Value bytes as MEMORY USAGE counts them, without the key (see memory.ts). */
  bytes: number;
  /** Hash field expiry (Redis 7.4 / Valkey 9): fields with one, and the latest of them. */
  fieldExpiry?: { volatile: number; lastExpireAtMs: number };
  content?: RdbContent;
}

export interface ValueContext {
  s: RdbStrings;
  input: ByteInput;
  keep: boolean;
  valkey: boolean;
  limits: EncodingLimits;
}
