/** What `startWatch` accepts, and the defaults an on-call engineer would pick. */
import type { Policy } from '../policy/index.js';
import type { TargetSpec } from '../target/spec.js';
import type { AlertFormat } from './alerts/webhook.js';
import type { WatchLogger } from './log.js';

export interface WatchOptions {
  /** The target (see `resolveTarget`); `target.db` limits the scan to one database. */
  target: TargetSpec;
  /** Rules (patterns and TTLs) and the `alerts:` thresholds. */
  policy?: Policy;
  /** Where to serve HTTP. Default 127.0.0.1:9121; port 0 picks a free port. */
  listen?: { host: string; port: number };
  /** Time between the starts of two passes over the keyspace. Default 5 min. */
  intervalMs?: number;
  /** How often INFO is read for the server metrics and alerts are evaluated. Default 10 s. */
  infoIntervalMs?: number;
  /** How often the pass in progress is checkpointed. Default 30 s. */
  checkpointIntervalMs?: number;
  /** State file for checkpoints; `false` keeps state in memory only. */
  statePath?: string | false;
  /** Patterns exported per node (the rest fold into `(other)`). Default 20. */
  top?: number;
  /** Hard cap on keys read per second per node. */
  maxOps?: number;
  /** Lift the latency guard (maintenance windows only). */
  fast?: boolean;
  alertWebhook?: string;
  alertFormat?: AlertFormat;
  /** Evictions within this window fire KeywardenEvictions. Default 5 min. */
  evictionWindowMs?: number;
  /** Used-memory history the time-to-full forecast is fitted over. Default 1 h. */
  forecastWindowMs?: number;
  /** How often doctor runs for its critical findings; `false` never. Default 5 min. */
  doctorIntervalMs?: number | false;
  /** Bearer token; required to listen beyond loopback. */
  authToken?: string;
  /** Require the token on /metrics too. */
  protectMetrics?: boolean;
  /** Give violating keys their policy TTL (through `fix`'s apply path). Needs `policy`. */
  enforce?: boolean;
  /** Where enforcement journals go (for `keywarden undo`). Default: next to the state file. */
  journalDir?: string;
  logger?: WatchLogger;
  /** Reconnection backoff. Default 1 s doubling to 30 s. */
  reconnect?: { minMs: number; maxMs: number };
}

export const DEFAULTS = {
  listen: { host: '127.0.0.1', port: 9121 },
  intervalMs: 5 * 60_000,
  infoIntervalMs: 10_000,
  checkpointIntervalMs: 30_000,
  top: 20,
  evictionWindowMs: 5 * 60_000,
  forecastWindowMs: 60 * 60_000,
  doctorIntervalMs: 5 * 60_000,
  repeatIntervalMs: 60 * 60_000,
} as const;
