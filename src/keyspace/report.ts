/**
 * The scan report: the plain data every front end consumes (renderers, doctor, watch, fix's
 * plan). Its JSON form is a public contract (`kind: "keywarden.scan"`, schemaVersion 1):
 * add fields freely, never rename or remove one.
 */
import { formatCount } from '../units.js';

/** TTL histogram buckets, in the order they are shown. */
export const TTL_BUCKETS = ['none', 'lt1m', 'lt1h', 'lt1d', 'lt7d', 'ge7d'] as const;
export type TtlBucket = (typeof TTL_BUCKETS)[number];
export type TtlHistogram = Record<TtlBucket, number>;

/** A 95% confidence interval [low, high]. */
export type Interval = [number, number];

export interface PatternStats {
  pattern: string;
  keys: number;
  bytes: number;
  noTtlKeys: number;
  noTtlBytes: number;
  types: Record<string, number>;
  ttl: TtlHistogram;
  /** A few keys of this pattern, escaped for display (see `displayKey`). */
  examples: string[];
  /** The policy rule this pattern falls under, when a policy was given. */
  rule?: { match: string; ttlMs?: number; role?: string };
  /** Keys (estimated when sampled) that break their rule: no TTL, or a TTL above the rule's. */
  violations?: number;
  /** Only when sampled: 95% intervals for the estimates. */
  ci?: { keys: Interval; bytes: Interval; noTtlKeys: Interval; noTtlBytes: Interval };
}

export interface BigKey {
  key: string;
  db: number;
  node: string;
  type: string;
  bytes: number;
  length: number;
  ttlMs: number;
}

export interface ExpiryCluster {
  /** Unix second in which the keys expire. */
  second: number;
  keys: number;
  /** The pattern holding most of them. */
  topPattern: string;
}

export interface NodeInfo {
  address: string;
  role: 'master' | 'replica';
  dbs: number[];
  keysSeen: number;
  dbsize: number;
  complete: boolean;
}

export interface Totals extends Pick<PatternStats, 'keys' | 'bytes' | 'noTtlKeys' | 'noTtlBytes'> {
  /** Only when sampled: 95% intervals of the shares (0..1) of keys and of bytes without TTL. */
  ci?: { noTtlKeysShare: Interval; noTtlBytesShare: Interval };
}

/** The lines the report draws (see keyspace/thresholds.ts), so a reader of the JSON knows them. */
export interface ReportThresholds {
  /** A key at or above either is a big key. */
  bigKeyBytes: number;
  bigKeyElements: number;
  /** Keys (estimated, when sampled) expiring in one second that make an expiry cluster. */
  expiryClusterKeys: number;
}

/** A dump file read by `keywarden rdb` (target.mode "rdb"). */
export interface DumpFileInfo {
  path: string;
  format: 'redis' | 'valkey';
  /** RDB version (VALKEY080 is 80). */
  version: number;
  /** redis-ver aux field of the writer, when present. */
  writer?: string;
  bytes: number;
  keys: number;
  /** Unix ms the TTLs were judged at, and where that time came from. */
  judgedAt: number;
  judgedFrom: 'ctime' | 'now-flag' | 'mtime';
  checksum: 'verified' | 'disabled' | 'absent';
  /** Bytes of AOF commands after an RDB preamble (not replayed). */
  aofTailBytes?: number;
}

export interface ScanReport {
  kind: 'keywarden.scan';
  schemaVersion: 1;
  /**
   * When the figures were taken, ISO 8601 in UTC: the start of the scan, or for a dump the
   * time its TTLs are judged at (when it was written); for merged reports the earliest.
   */
  takenAt?: string;
  target: { url: string; mode: 'standalone' | 'cluster' | 'rdb'; redisVersion: string; nodes: NodeInfo[]; files?: DumpFileInfo[] };
  coverage: {
    /** False when interrupted (Ctrl-C, a time budget, a lost node) or sampled. */
    complete: boolean;
    sampled: boolean;
    /** Fraction of the keyspace read when sampled. */
    sampleFraction?: number;
    keysSeen: number;
    /** Sum of DBSIZE over the scanned dbs and nodes at the start of the scan. */
    dbsize: number;
    /**
     * Only with --match/--type: the keys the walk went through to find the `keysSeen` that
     * matched (every key of a node walked to its end; the keys returned on one that stopped
     * early). `keysPerSecond` counts these: the work done, not the matches.
     */
    keysRead?: number;
    /**
     * A complete, unfiltered walk that found fewer keys than DBSIZE counted at its start:
     * the difference, keys that expired or were deleted while the scan ran (a walk never
     * skips a key that exists throughout).
     */
    goneDuringScan?: number;
    /** Keys SCAN returned that could not be read: deleted or expired mid-scan, or (cluster) of a slot this node does not serve, as during a resharding. */
    vanished: number;
    interrupted?: string;
    /** Figures this user could not measure (e.g. 'bytes' without MEMORY USAGE permission). */
    unmeasured: Array<'bytes' | 'length'>;
    /**
     * Only when sampled: what the single-key lists (`bigKeys`, `expiryClusters`) cannot
     * promise, the sentence every human format shows next to them.
     */
    caveat?: string;
    /** How keys were inspected: one Lua call per batch, or pipelined commands. */
    method: 'lua' | 'pipeline' | 'none' | 'rdb';
    /** Dumps only: keys whose expiry had passed when the dump was taken, left out of every other figure. */
    expired?: { keys: number; bytes: number };
    durationMs: number;
    keysPerSecond: number;
  };
  totals: Totals;
  patterns: PatternStats[];
  /** The biggest keys read, biggest first; when sampled, only keys of the sample (a single big key elsewhere is not in it). */
  bigKeys: BigKey[];
  /** When sampled, `keys` are estimates for the whole keyspace, and only seconds seen in the sample are listed. */
  expiryClusters: ExpiryCluster[];
  thresholds?: ReportThresholds;
  policy?: { file?: string; violations: number };
}

/** The caveat of a sampled report (see `coverage.caveat`). */
export function sampleCaveat(keysSeen: number, dbsize: number): string {
  return (
    `Big keys and expiry clusters come from the sample (${formatCount(keysSeen)} of ${formatCount(dbsize)} keys) ` +
    'and may miss single large keys: a scan without --sample reads every key.'
  );
}
