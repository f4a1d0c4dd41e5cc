/**
 * The plain data `keywarden fix` and `keywarden undo` return. The JSON forms are public
 * contracts (`kind: "keywarden.fix"`, `kind: "keywarden.undo"`): add fields, never rename.
 * Also what a fix run is asked to do (FixOptions).
 */
import type { PaceOptions } from '../keyspace/walk/pace.js';
import type { ScanProgress } from '../keyspace/walk/run.js';
import type { Policy } from '../policy/index.js';
import type { EvictionRisk } from './eviction-risk.js';
import type { LagEvent } from './replica-lag.js';

export interface FixProgress extends ScanProgress, Pick<FixCounts, 'needTtl' | 'applied'> {}

export interface FixOptions extends PaceOptions {
  policy: Policy;
  /** `--max-ttl`: shorten longer TTLs to this (EXPIRE … LT); new TTLs are capped too. */
  maxTtlMs?: number;
  /** Only this database (standalone). */
  db?: number;
  /** JSONL journal path (apply only): what undo reads and resume continues from. */
  journal?: string;
  /** Continue the run recorded in `journal` from its last checkpoints. */
  resume?: boolean;
  /** Pause writes to a primary while one of its replicas lags more than this. Default 5 s; 0 turns the brake off. */
  maxReplicaLagMs?: number;
  /** Skip MEMORY USAGE (bytes are then not reported). */
  measureMemory?: boolean;
  signal?: AbortSignal;
  onProgress?(progress: FixProgress): void;
  onReplicaLag?(event: LagEvent & { pausedMs?: number }): void;
  /** Apply: every check passed (TTL floor, server version, journal); the first write comes next. */
  onStart?(): void;
  /** Before the first write (and in a dry run): nodes where a volatile-* policy near maxmemory makes every key given a TTL evictable at once. */
  onEvictionRisk?(risks: EvictionRisk[]): void;
  /** On --resume: how many nodes continue from a checkpoint, and which restarted since (walked again). */
  onResume?(info: { nodes: number; restarted: string[] }): void;
  /** Test seam: runs after a batch's keys are decided and journaled, before the call that writes them is sent. */
  beforeWrite?(keys: Buffer[]): Promise<void>;
  /** Jitter source (tests). */
  random?: () => number;
}

/** The counts a run keeps per rule and in total. */
export interface FixCounts {
  /** Keys this rule governs (first match wins); in totals, keys any rule governs. */
  matched: number;
  /**
   * Keys under the rule without a TTL: the ones fix gives one. Dry run: as the scan read
   * them. Apply reads no TTL before writing, so there it is the keys that had none when
   * written (= applied).
   */
  needTtl: number;
  /** EXPIRE … NX that took effect (0 in a dry run). */
  applied: number;
  /** Keys that already had a TTL, left as they are (including ones that got it between scan and write). */
  alreadyHadTtl: number;
  /** Keys deleted between the scan and our write (apply). A TTL given in between counts under alreadyHadTtl. */
  changedSinceScan: number;
  /** With `--max-ttl`: longer TTLs that were (dry run: would be) shortened with EXPIRE … LT. */
  shortened: number;
  /** Memory of the keys that need a TTL: what will be freed as they expire (apply: of the keys written). */
  bytes: number;
}

/** Per policy rule: what the scan found under it and what the run did. */
export interface FixRuleSummary extends FixCounts {
  match: string;
  /** The rule's TTL as written (`24h`); null for durable rules. */
  ttl: string | null;
  role?: string;
  /** A few keys that need a TTL, escaped for display. */
  examples: string[];
}

export interface FixTotals extends FixCounts {
  keysScanned: number;
  /** Left alone: matched by a `durable` rule. */
  durable: number;
  /** Left alone: matched by no rule. */
  noRule: number;
  /** Pattern examples of keys matched by no rule (escaped), to help write the next rule. */
  noRuleExamples: string[];
  durationMs: number;
  keysPerSecond: number;
  /** Time spent paused because a replica lagged. */
  replicaPauseMs: number;
}

export interface FixReport {
  kind: 'keywarden.fix';
  schemaVersion: 1;
  /** When the run started (ISO 8601, UTC): its figures are of the keyspace from then on. */
  takenAt: string;
  dryRun: boolean;
  target: { url: string; mode: 'standalone' | 'cluster'; nodes: string[] };
  policy: { file?: string; maxTtl?: string };
  rules: FixRuleSummary[];
  totals: FixTotals;
  /** Journal path (apply runs), else null. */
  journal: string | null;
  resumed: boolean;
  /** The concurrent p99 the latency guard aimed at: 1 ms, or the server's ambient p99 measured before writing when that was higher. */
  guard?: { targetP99Ms: number; ambientP99Ms?: number };
  /** False when interrupted (Ctrl-C): rerun with --resume. */
  complete: boolean;
  interrupted?: string;
  /** Bytes were not measured (no MEMORY permission): `bytes` figures are 0. */
  bytesUnmeasured?: boolean;
  /**
   * Apply: `bytes` figures are estimates, each rule's measured sample (MEMORY USAGE of its
   * first keys written, then one in 16) scaled to the keys it wrote. Absent when every figure
   * is a sum of measured keys (dry runs, small runs).
   */
  bytesEstimated?: boolean;
  /**
   * Nodes with a volatile-* policy at 80% of maxmemory or more: every key given a TTL there
   * becomes an eviction candidate at once.
   */
  evictionRisk?: EvictionRisk[];
}

/**
 * Why undo left a journaled key alone. `longerTtl` and `otherTtl`: its expiry changed since
 * fix (later: refreshed or extended; earlier or otherwise: re-created or set again).
 * `unconfirmed`: fix's write was in flight when its run died, so the TTL cannot be told from
 * the application's. `migrating` and `unreachable` (cluster): the key's slot was being moved
 * between masters, or no reachable master serves it; rerun undo later.
 */
export type UndoSkipReason =
  'gone' | 'noTtl' | 'longerTtl' | 'otherTtl' | 'refused' | 'shortened' | 'unknownNode' | 'migrating' | 'unreachable' | 'unconfirmed';

export interface UndoReport {
  kind: 'keywarden.undo';
  schemaVersion: 1;
  /** When the run started (ISO 8601, UTC). */
  takenAt: string;
  dryRun: boolean;
  journal: string;
  target: { url: string; mode: 'standalone' | 'cluster' };
  /** Keys the journal says fix gave a TTL (keys its NX refused, which had their own, are not counted). */
  journaled: number;
  /** PERSIST that took effect (dry run: would be sent). */
  persisted: number;
  /**
   * Cluster: keys checked (and undone when their TTL was still fix's) on another master than
   * the one fix wrote them on, because a resharding or failover moved their slot since.
   */
  rerouted: number;
  skipped: Record<UndoSkipReason, number>;
  /** A few skipped keys per reason, escaped for display. */
  skippedExamples: Partial<Record<UndoSkipReason, string[]>>;
  /** Stopped early (Ctrl-C): rerun the same undo to finish; keys already undone are skipped. */
  interrupted?: boolean;
  durationMs: number;
}
