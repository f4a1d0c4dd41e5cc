/**
 * An alert as the state file keeps it, so a restart neither forgets a firing alert nor pages
 * again for it. Imports nothing: the state (state.ts) and the rules (types.ts) both use it.
 */
export type AlertSeverity = 'critical' | 'warning';

export interface AlertRecord {
  /** Rule name plus labels: one alert per rule and node/pattern. */
  id: string;
  rule: string;
  severity: AlertSeverity;
  status: 'firing' | 'resolved';
  /** `node`, `pattern`, `finding`: never a credential, patterns are escaped globs. */
  labels: Record<string, string>;
  summary: string;
  value: number;
  threshold: number;
  /** Unix ms. */
  startsAt: number;
  endsAt?: number;
  lastNotifiedAt?: number;
  /** Fired before the first pass named the patterns: sent again once it has (see AlertCandidate.patternsPending). */
  patternsPending?: boolean;
}
