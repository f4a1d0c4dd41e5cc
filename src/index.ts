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

// fix: TTLs in bulk from a policy (dry run, apply with EXPIRE … NX, journal, resume), and
// undo from the journal.
export {
  planFix,
  applyFix,
  undoFix,
  FixInterruptedError,
  JournalError,
  type FixOptions,
  type FixProgress,
  type FixReport,
  type FixRuleSummary,
  type FixTotals,
  type UndoOptions,
  type UndoProgress,
  type UndoReport,
  type UndoSkipReason,
} from './fix/index.js';

// policy init: a starter policy from a sampled scan.
export { suggestPolicy, policyYaml, type PolicySuggestion, type SuggestedRule, type SuggestOptions } from './policy/suggest.js';

// scan: the keyspace audit as functions — connect to a target, scan it, get plain data.
export { resolveTarget, type TargetOptions, type TargetSpec } from './target/spec.js';
export { connectTarget, type Target, type RedisNode } from './target/connect.js';
export { scanKeyspace, type ScanKeyspaceOptions } from './keyspace/scan.js';
export { scanRecords, ScanFailedError, type ScanOptions, type ScanRun, type NodeCheckpoint, type ScanProgress } from './keyspace/scanner.js';
export { inferPattern, createPatternGrouper, type PatternGrouper, type PatternGroup } from './keyspace/patterns.js';
export { displayKey } from './display.js';
export type { KeyRecord } from './keyspace/record.js';
export type { ScanReport, PatternStats, BigKey, ExpiryCluster, TtlHistogram } from './keyspace/report.js';

// policy: the keywarden.yml shared by every part.
export { loadPolicy, parsePolicy, policyFromObject, createMatcher, compileGlob, parseDuration, type Policy, type PolicyRule } from './policy/index.js';

// errors: every user-facing failure carries a one-line message and a hint.
export { KeywardenError, UsageError, ConnectionError, PermissionError, PolicyError } from './errors.js';
