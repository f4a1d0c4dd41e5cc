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

// fix: TTLs in bulk from a policy (dry run, apply with EXPIRE … NX, journal, resume), undo
// from the journal, and starter policies from a sampled scan.
export {
  planFix,
  applyFix,
  undoFix,
  suggestPolicy,
  policyYaml,
  FixInterruptedError,
  JournalError,
  type FixOptions,
  type FixProgress,
  type FixReport,
  type FixRuleSummary,
  type FixTotals,
  type UndoOptions,
  type UndoReport,
  type UndoSkipReason,
  type PolicySuggestion,
  type SuggestedRule,
  type SuggestOptions,
} from './fix/index.js';
