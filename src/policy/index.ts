/**
 * The policy (`keywarden.yml`) shared by scan, fix, doctor, watch, guard and lint: durations,
 * Redis-glob matching, loading and validation, and rule lookup.
 */
export { parseDuration, formatDuration, parseFraction, toExpireSeconds, DURATION_HINT } from './duration.js';
export { compileGlob, isLiteralGlob, escapeGlob, globPrefix } from './glob.js';
export { ROLES, type Role, type PolicyRule, type PolicyAlerts, type Policy } from './schema.js';
export { parsePolicy, loadPolicy, policyFromObject, adHocPolicy } from './load.js';
export { PolicyValidationError, type PolicyIssue } from './issues.js';
export { createMatcher, ttlForRule, type PolicyMatcher } from './match.js';
export { MIN_TTL_MS, assertKeyTtl, shortestJitteredTtl } from './min-ttl.js';
