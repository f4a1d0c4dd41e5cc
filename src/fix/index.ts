/**
 * keywarden fix: TTLs in bulk from a policy (dry run, apply, journal, resume), and undo from
 * the journal.
 */
export { planFix, applyFix, DEFAULT_MAX_REPLICA_LAG_MS } from './apply.js';
export { undoFix, type UndoOptions, type UndoProgress } from './undo.js';
export { decideKey, FixTally, type KeyDecision, type PlanOptions } from './plan.js';
export { parseReplicaLag, type ReplicaLag, type LagEvent } from './replica-lag.js';
export { readJournal, journalState, JournalError, type JournalLine } from './journal.js';
export { FixInterruptedError, UnsupportedServerError } from './errors.js';
export type { FixOptions, FixProgress, FixReport, FixRuleSummary, FixTotals, UndoReport, UndoSkipReason } from './types.js';
export { evictionRisks, ttlMakesEvictable, NEAR_MAXMEMORY, type EvictionRisk } from './eviction-risk.js';
