/**
 * Alerts as plain data: what `/alerts` lists, what the webhook receives, what the state file
 * keeps so a restart neither forgets a firing alert nor pages again for it.
 */
import type { DoctorReport } from '../../doctor/index.js';
import type { PolicyAlerts } from '../../policy/index.js';
import type { Forecast } from '../forecast.js';
import type { NodeStats } from '../node-stats.js';
import type { HistorySample, PublishedPass } from '../state.js';
import type { AlertSeverity } from './record.js';

// Kept in the state file, so declared where state.ts can import them without importing back.
export type { AlertRecord, AlertSeverity } from './record.js';

/** What a rule reports for one alert instance that should be firing now. */
export interface AlertCandidate {
  labels: Record<string, string>;
  summary: string;
  value: number;
  threshold: number;
  severity?: AlertSeverity;
  /**
   * The summary would name the top patterns without TTL, but no pass has completed yet: the
   * alert fires now (memory does not wait) and is sent again with them once the pass is done.
   */
  patternsPending?: boolean;
}

/** Everything a rule may read; rules are pure functions of it. */
export interface AlertContext {
  now: number;
  thresholds: PolicyAlerts;
  /** Last reading of every node (kept while a node is down, so alerts do not flap during an outage). */
  stats: NodeStats[];
  nodeUp: Map<string, boolean>;
  knownNodes: string[];
  lastError?: string;
  published?: PublishedPass;
  history: Record<string, HistorySample[]>;
  patternHistory: Array<{ t: number; noTtl: Record<string, number> }>;
  forecasts: Map<string, Forecast>;
  doctor?: DoctorReport;
  /** Only this database counts (`-n`). */
  db?: number;
  /** Window over which evictions count. */
  evictionWindowMs: number;
  /** Enforcement runs failing in a row, when they are. */
  enforceFailure?: { since: number; count: number; error: string };
  /** Passes failing in a row, when they are. */
  passFailure?: { since: number; count: number; reason: string; error: string };
}

export interface AlertRule {
  /** Alert name, the same as in deploy/prometheus/alerts.yml. */
  name: string;
  severity: AlertSeverity;
  evaluate(ctx: AlertContext): AlertCandidate[];
}
