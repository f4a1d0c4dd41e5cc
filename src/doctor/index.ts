/**
 * keywarden doctor: findings with evidence and the exact fix, from a live server and/or a
 * redis.conf read offline.
 */
export { diagnose, runRules, reachesSeverity, type DiagnoseOptions } from './diagnose.js';
export { readConf, parseConf, parseMemory, splitArgs, confFacts, type ConfFile } from './conf.js';
export { RULES } from './rules/index.js';
export {
  SEVERITIES,
  type Severity,
  type DoctorReport,
  type DoctorFinding,
  type SkippedCheck,
  type Evidence,
  type EvidenceValue,
  type Rule,
  type Hit,
  type KeyspaceCoverage,
  type FindingCoverage,
} from './types.js';
export type { NodeFacts } from './facts.js';
