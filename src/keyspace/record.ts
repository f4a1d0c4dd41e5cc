/**
 * The one record every source produces: the live scanner and the RDB reader (rdb/audit.ts).
 * Everything downstream (pattern inference, policy matching, aggregation, doctor rules,
 * metrics) consumes KeyRecords and never talks to Redis itself.
 */
export interface KeyRecord {
  /** The key exactly as stored: binary-safe, never decoded. */
  key: Buffer;
  /** Logical database (always 0 on a cluster). */
  db: number;
  /** Node address the key was read from, `host:port`. */
  node: string;
  /** Redis type name as TYPE returns it: string, list, set, zset, hash, stream, or a module type. */
  type: string;
  /** Remaining time to live in milliseconds; -1 when the key has no TTL; -3 (TTL_UNKNOWN) when not inspected. */
  ttlMs: number;
  /** Memory in bytes as MEMORY USAGE reports it; -1 when it could not be measured. */
  bytes: number;
  /** Elements (or string length); -1 when not measured. */
  length: number;
}

export const NO_TTL = -1;
/** ttlMs of a record from a keys-only walk (`inspect: false`): the TTL was not read. */
export const TTL_UNKNOWN = -3;
export const UNMEASURED = -1;
