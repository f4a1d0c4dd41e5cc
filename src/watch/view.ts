/** The read-only view of the daemon that /metrics, /alerts and the dashboard render. */
import type { AlertRecord } from './alerts/types.js';
import type { Forecast } from './forecast.js';
import type { LiveState, PersistedState } from './state.js';

export interface WatchView {
  /** Redacted target URL. */
  target: string;
  live: LiveState;
  state: PersistedState;
  alerts(): AlertRecord[];
  resolvedAlerts(): AlertRecord[];
  forecasts(): Map<string, Forecast>;
  notifications(): { delivered: number; failed: number };
  settings: {
    intervalMs: number;
    top: number;
    enforce: boolean;
    forecastWindowMs: number;
    /** A policy with rules was given: patterns carry violations. */ policy?: boolean;
  };
}
