/**
 * What the daemon knows, in one place: the persisted part (checkpoint of the pass in progress,
 * the last published pass, bounded histories, active alerts) and the live part (server
 * readings, connection status). Loops write it; scrapes, the dashboard and alerts only read.
 * Everything here is bounded: no per-key state survives a chunk of a pass.
 */
import type { NodeCheckpoint } from '../keyspace/scanner.js';
import type { DoctorReport } from '../doctor/index.js';
import type { PatternFigures } from './figures.js';
import type { MemorySample } from './forecast.js';
import type { NodeStats } from './node-stats.js';
import type { AlertRecord } from './alerts/record.js';

/** One node's share of the pass in progress. */
export interface NodeProgress {
  /** run_id of the server process the cursor belongs to. */
  runId: string;
  checkpoint?: NodeCheckpoint;
  keysSeen: number;
  /** Figures of the chunks already folded (keys before `checkpoint`). */
  figures: PatternFigures[];
}

export interface PassProgress {
  startedAt: number;
  /** Scan time spent on this pass so far, across restarts. */
  scanMs: number;
  nodes: Record<string, NodeProgress>;
}

/** A completed pass: what /metrics and the dashboard show until the next one completes. */
export interface PublishedPass {
  startedAt: number;
  completedAt: number;
  /** Scan time of the pass, excluding time the daemon was stopped or disconnected. */
  durationMs: number;
  keysSeen: number;
  /** Per node, bounded to the top patterns + (other). */
  nodes: Record<string, PatternFigures[]>;
}

export interface HistorySample extends MemorySample {
  evicted: number;
}

export interface PersistedState {
  kind: 'keywarden.watch-state';
  version: 1;
  /** Redacted target URL the state belongs to. */
  target: string;
  savedAt: number;
  passes: number;
  pass?: PassProgress;
  published?: PublishedPass;
  /** Per node: used memory, maxmemory and evicted_keys over time (bounded ring). */
  history: Record<string, HistorySample[]>;
  /** No-TTL keys per published pattern (summed over nodes), one entry per pass (bounded). */
  patternHistory: Array<{ t: number; noTtl: Record<string, number> }>;
  alerts: AlertRecord[];
}

export interface LiveState {
  connected: boolean;
  /** Node addresses last known, so `keywarden_up` can say 0 for each when the target is down. */
  knownNodes: string[];
  nodeUp: Map<string, boolean>;
  stats: Map<string, NodeStats>;
  reconnects: number;
  lastError?: string;
  scanning: boolean;
  progressRatio: number;
  passKeysSeen: number;
  /** Time spent scanning in the current pass (excludes downtime). */
  passScanMs: number;
  doctor?: { at: number; report: DoctorReport };
  enforced: number;
  /** Enforcement runs that failed (`keywarden_enforce_errors_total`). */
  enforceErrors: number;
  /** Enforcement failing in a row (cleared by one that completes): KeywardenEnforceFailing. */
  enforceFailure?: { since: number; count: number; error: string };
  /** Failed passes by reason (`keywarden_scan_errors_total{reason}`). */
  scanErrors: Record<string, number>;
  /** Passes failing in a row since `since` (cleared by a pass that completes): /readyz and KeywardenScanFailing. */
  passFailure?: { since: number; count: number; reason: string; error: string };
  mode?: 'standalone' | 'cluster';
  redisVersion?: string;
}

export const HISTORY_LIMIT = 720;
export const PATTERN_HISTORY_LIMIT = 200;

export function emptyPersisted(target: string): PersistedState {
  return { kind: 'keywarden.watch-state', version: 1, target, savedAt: 0, passes: 0, history: {}, patternHistory: [], alerts: [] };
}

export function emptyLive(): LiveState {
  return {
    connected: false,
    knownNodes: [],
    nodeUp: new Map(),
    stats: new Map(),
    reconnects: 0,
    scanning: false,
    progressRatio: 0,
    passKeysSeen: 0,
    passScanMs: 0,
    enforced: 0,
    enforceErrors: 0,
    scanErrors: {},
  };
}

/** Append to a bounded ring. */
export function pushBounded<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}
