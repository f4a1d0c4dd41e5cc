/**
 * keywarden watch: a daemon that scans in the background, serves Prometheus metrics, fires
 * alerts on the root cause (keys without TTL) and shows a read-only dashboard.
 */
import { startDaemon, type WatchHandle } from './daemon.js';
import type { WatchOptions } from './options.js';

export { createLogger, silentLogger, type WatchLogger, type LogLevel } from './log.js';
export { DEFAULTS as WATCH_DEFAULTS, type WatchOptions } from './options.js';
export type { WatchHandle } from './daemon.js';
export type { AlertRecord, AlertSeverity } from './alerts/types.js';
export type { AlertFormat } from './alerts/webhook.js';
export { METRICS } from './metrics.js';
export { ALERT_RULES } from './alerts/rules.js';

/**
 * Start the watch daemon: connect (a connection error at start is thrown, as a ConnectionError),
 * serve HTTP, and run the background scan, INFO and doctor loops until `stop()`.
 *
 * @returns a handle with the HTTP URL, a read-only view of the state, and `stop()`, which saves
 *   the checkpoint so the next start continues the pass where it stopped.
 * @throws UsageError when asked to listen beyond loopback without `authToken`, or the port is taken.
 */
export function startWatch(options: WatchOptions): Promise<WatchHandle> {
  return startDaemon(options);
}
