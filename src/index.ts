/**
 * keywarden's library API: named exports only. Each part adds its own block.
 */

// guard: TTLs enforced inside the application's Redis client, and TTL-safe helpers.
export {
  guard,
  GuardViolationError,
  cacheAside,
  rateLimit,
  session,
  type GuardOptions,
  type GuardMode,
  type GuardViolation,
  type CacheAsideOptions,
  type RateLimitOptions,
  type RateLimitResult,
  type SessionOptions,
  type SessionStore,
  type Duration,
} from './guard/index.js';

// doctor: findings with evidence and the exact fix, from a live server and/or a redis.conf.
export {
  diagnose,
  reachesSeverity,
  readConf,
  type DiagnoseOptions,
  type DoctorReport,
  type DoctorFinding,
  type SkippedCheck,
  type Severity,
  type Evidence,
  type EvidenceValue,
} from './doctor/index.js';

// watch: the daemon — background checkpointed scan, Prometheus /metrics, alerts, dashboard.
export {
  startWatch,
  createLogger,
  type WatchOptions,
  type WatchHandle,
  type WatchLogger,
  type LogLevel,
  type AlertRecord,
  type AlertSeverity,
  type AlertFormat,
} from './watch/index.js';
