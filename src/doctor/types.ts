/**
 * The doctor's plain data: findings, skipped checks and the report. Its JSON form is a public
 * contract (`kind: "keywarden.doctor"`, schemaVersion 1): add fields freely, never rename or
 * remove one.
 */
import type { Policy } from '../policy/index.js';
import type { ScanReport } from '../keyspace/report.js';
import type { NodeFacts } from './facts.js';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The numbers that triggered a finding, by name (bytes fields end in `Bytes`, ratios in `Ratio`). */
export type EvidenceValue = string | number | boolean | null | string[] | number[];
export type Evidence = Record<string, EvidenceValue>;

/** How much of the keyspace doctor read (`target.keyspace` in the report). */
export interface KeyspaceCoverage {
  /** `all`: every key was read; `sample`: a deterministic sample (the same keys on every run on unchanged data). */
  read: 'all' | 'sample';
  keysRead: number;
  /** DBSIZE summed over the nodes and databases read. */
  dbsize: number;
  durationMs: number;
  /** The time budget for reading every key (`--budget`). */
  budgetMs: number;
  /** DBSIZE × the per-key cost measured on this server; absent when the sample already held every key. */
  estimatedAllMs?: number;
  /** Why not every key was read (sample only). */
  reason?: string;
  /** The command that reads every key of this target (credentials redacted). */
  scanCommand: string;
}

/** On a finding drawn from the keyspace: what it was drawn from, and how sure it is. */
export interface FindingCoverage {
  read: 'all' | 'sample';
  keysRead: number;
  dbsize: number;
  /** For an estimated share (0..1): its 95% interval. */
  interval?: [number, number];
  /**
   * Single-key findings (big keys, expiry clusters) from a sample: keys outside it can be
   * missed; this command reads them all.
   */
  mayMiss?: string;
}

export interface DoctorFinding {
  id: string;
  severity: Severity;
  title: string;
  /** One line with the numbers, for people: "used 9.1 MB of 10 MB (91%)". */
  detail: string;
  evidence: Evidence;
  /** What happens if it is ignored. */
  why: string;
  /** The exact commands, redis.conf lines or keywarden commands that fix it, in order. */
  fix: string[];
  /** The node (`host:port`, or the redis.conf path) it was found on; absent for target-wide findings. */
  node?: string;
  /** Present when the finding depends on the keyspace read: every key, or a sample (with its confidence). */
  coverage?: FindingCoverage;
}

export interface SkippedCheck {
  id: string;
  reason: string;
  node?: string;
}

export interface DoctorReport {
  kind: 'keywarden.doctor';
  schemaVersion: 1;
  /** When the diagnosis started, ISO 8601 UTC. */
  takenAt?: string;
  target: {
    /** Redacted URL, or undefined when only a redis.conf was read. */
    url?: string;
    mode?: 'standalone' | 'cluster';
    redisVersion?: string;
    nodes: Array<{ address: string; role: 'master' | 'replica' }>;
    /** The redis.conf read offline, when one was given. */
    config?: string;
    /** How the keyspace read went, when one was taken (see `keyspace` for whether it was every key). */
    sample?: { keysSeen: number; dbsize: number; sampled: boolean; complete: boolean; durationMs: number };
    /** Every key read, or a sample and why. */
    keyspace?: KeyspaceCoverage;
  };
  findings: DoctorFinding[];
  skipped: SkippedCheck[];
  summary: Record<Severity, number>;
}

/** What a rule's check returns when it fires. Severity, title, why and fix default to the rule's. */
export interface Hit {
  detail: string;
  evidence: Evidence;
  severity?: Severity;
  why?: string;
  fix?: string[];
  /** Added to the finding's coverage (an interval, the command that finds missed keys). */
  coverage?: Partial<FindingCoverage>;
}

/** Everything a node-scoped rule may read about one node. */
export interface NodeContext {
  node: NodeFacts;
  /** The keyspace sample over the whole target (cluster: every master), when one was taken. */
  sample?: ScanReport;
  /** Why there is no sample (--no-sample, offline, the scan failed). */
  sampleUnavailable?: string;
  /** How `sample` was read: every key, or a sample. */
  keyspace?: KeyspaceCoverage;
  policy?: Policy;
}

/** Everything a target-scoped rule may read: every node, and the sample. */
export interface TargetContext {
  nodes: NodeFacts[];
  mode?: 'standalone' | 'cluster';
  sample?: ScanReport;
  sampleUnavailable?: string;
  keyspace?: KeyspaceCoverage;
  policy?: Policy;
}

interface RuleBase {
  id: string;
  severity: Severity;
  title: string;
  why: string;
}

/** A rule that runs once per node (live node, or the offline redis.conf). */
export interface NodeRule extends RuleBase {
  scope: 'node';
  check(ctx: NodeContext): Hit | undefined;
  fix(hit: Hit, ctx: NodeContext): string[];
}

/** A rule that runs once for the whole target (the sample, cluster-wide state). */
export interface TargetRule extends RuleBase {
  scope: 'target';
  check(ctx: TargetContext): Hit | undefined;
  fix(hit: Hit, ctx: TargetContext): string[];
}

export type Rule = NodeRule | TargetRule;
