/**
 * `diagnose`: read every node (and/or a redis.conf), read the keyspace (every key when it fits
 * the budget, else a deterministic sample: see coverage.ts), run every rule, and return the
 * report as plain data. Read-only: it never writes to the server.
 */
import type { ScanReport } from '../keyspace/report.js';
import type { Policy } from '../policy/index.js';
import type { Target } from '../target/connect.js';
import { runnableFix } from './commands.js';
import { UsageError } from '../errors.js';
import { collectNode, unavailableReason } from './collect.js';
import { confFacts, readConf } from './conf.js';
import { DEFAULT_BUDGET_MS, readKeyspace } from './coverage.js';
import { MissingFacts, type NodeFacts } from './facts.js';
import { measureGrowth, startGrowth } from './growth.js';
import { RULES } from './rules/index.js';
import {
  SEVERITIES,
  type DoctorFinding,
  type DoctorReport,
  type FindingCoverage,
  type Hit,
  type KeyspaceCoverage,
  type NodeContext,
  type Rule,
  type Severity,
  type SkippedCheck,
  type TargetContext,
} from './types.js';

export interface DiagnoseOptions {
  /** Sharpens the checks: rule TTLs, roles (session, durable…), alert thresholds. */
  policy?: Policy;
  /** A redis.conf to read offline (alone, or next to a live target). */
  config?: string;
  /**
   * The sample read when every key does not fit `budgetMs`: default 10,000 keys; `false` reads
   * no keys at all (rules that need them are skipped).
   */
  sample?: { keys: number } | { fraction: number } | false;
  /** Time budget of the sample. Default 5 s. */
  sampleDeadlineMs?: number;
  /** Read every key when DBSIZE × the per-key cost measured on the sample fits this. Default 5 s; 0 keeps the sample. */
  budgetMs?: number;
  /** Minimum window over which memory growth is measured for the time-to-full estimate. Default 1 s. */
  growthWindowMs?: number;
  /** Only this database in the sample. */
  db?: number;
  /** The rules to run (default: all). */
  rules?: readonly Rule[];
  /** How suggested commands invoke the CLI: `keywarden` (default), or `npx keywarden`. */
  cli?: string;
}

const DEFAULT_SAMPLE = { keys: 10_000 };

/**
 * Diagnose a live target and/or a redis.conf.
 *
 * @param target - a connected target (see `connectTarget`), or undefined to lint `options.config` alone.
 * @returns findings sorted most severe first, the checks that could not run and why, and a summary.
 * @throws UsageError when neither a target nor a config is given, or the redis.conf cannot be read.
 */
export async function diagnose(target: Target | undefined, options: DiagnoseOptions = {}): Promise<DoctorReport> {
  if (!target && !options.config) throw new UsageError('nothing to diagnose', 'give a Redis URL, or --config redis.conf to lint a file offline');
  const takenAt = new Date().toISOString();
  const nodes: NodeFacts[] = [];
  let sample: ScanReport | undefined;
  let keyspace: KeyspaceCoverage | undefined;
  let sampleUnavailable: string | undefined = 'needs a keyspace sample from a live server';
  if (target) {
    const growth = await startGrowth(target.nodes);
    nodes.push(...(await Promise.all(target.nodes.map((n) => collectNode(n)))));
    if (options.sample === false) {
      sampleUnavailable = 'keyspace sample disabled (--no-sample)';
    } else {
      try {
        ({ report: sample, coverage: keyspace } = await readKeyspace(target, {
          sample: options.sample ?? DEFAULT_SAMPLE,
          sampleDeadlineMs: options.sampleDeadlineMs ?? 5000,
          budgetMs: options.budgetMs ?? DEFAULT_BUDGET_MS,
          policy: options.policy,
          db: options.db,
        }));
        sampleUnavailable = undefined;
      } catch (err) {
        sampleUnavailable = unavailableReason('the keyspace sample', err);
      }
    }
    await measureGrowth(growth, nodes, options.growthWindowMs ?? 1000);
  }
  if (options.config) nodes.push(confFacts(readConf(options.config)));
  const ran = runRules(options.rules ?? RULES, { nodes, mode: target?.mode, sample, sampleUnavailable, keyspace, policy: options.policy });
  const { skipped } = ran;
  // Suggested commands name the diagnosed target, so pasting one acts on this server.
  const commands = {
    target: target?.spec.command,
    hasPolicy: options.policy !== undefined,
    policyFile: options.policy?.file ?? 'keywarden.yml',
    cli: options.cli,
  };
  const findings = ran.findings.map((f) => ({ ...f, fix: runnableFix(f.fix, commands) }));
  return {
    kind: 'keywarden.doctor',
    schemaVersion: 1,
    takenAt,
    target: {
      url: target?.spec.display,
      mode: target?.mode,
      redisVersion: target?.redisVersion,
      nodes: target?.nodes.map((n) => ({ address: n.address, role: n.role })) ?? [],
      ...(options.config ? { config: options.config } : {}),
      ...(sample
        ? {
            sample: {
              keysSeen: sample.coverage.keysSeen,
              dbsize: sample.coverage.dbsize,
              sampled: sample.coverage.sampled,
              complete: sample.coverage.complete,
              durationMs: sample.coverage.durationMs,
            },
          }
        : {}),
      ...(keyspace ? { keyspace } : {}),
    },
    findings,
    skipped,
    summary: summarize(findings),
  };
}

/** Run rules over gathered facts: pure, so rules can be tested on hand-built facts. */
export function runRules(rules: readonly Rule[], ctx: TargetContext & { sampleUnavailable?: string }): { findings: DoctorFinding[]; skipped: SkippedCheck[] } {
  const findings: DoctorFinding[] = [];
  const skipped: SkippedCheck[] = [];
  const attempt = (rule: Rule, node: string | undefined, run: (read: Reads) => { hit: Hit; fix: string[] } | undefined) => {
    const read: Reads = { sample: false };
    try {
      const result = run(read);
      if (!result) return;
      const { hit, fix } = result;
      const coverage = findingCoverage(read.sample ? ctx.keyspace : undefined, hit);
      findings.push({
        id: rule.id,
        severity: hit.severity ?? rule.severity,
        title: rule.title,
        detail: hit.detail,
        evidence: hit.evidence,
        why: hit.why ?? rule.why,
        fix: hit.fix ?? fix,
        ...(node ? { node } : {}),
        ...(coverage ? { coverage } : {}),
      });
    } catch (err) {
      // A failing check must not hide the others during an incident: list it as skipped.
      const reason = err instanceof MissingFacts ? err.message : `check failed: ${String((err as Error)?.message ?? err)}`;
      skipped.push({ id: rule.id, reason, ...(node ? { node } : {}) });
    }
  };
  for (const rule of rules) {
    if (rule.scope === 'target') {
      attempt(rule, undefined, (read) => {
        const tracked = withSampleTracking(ctx, read);
        const hit = rule.check(tracked);
        return hit && { hit, fix: rule.fix(hit, tracked) };
      });
      continue;
    }
    for (const node of ctx.nodes) {
      attempt(rule, node.label, (read) => {
        const nodeCtx: NodeContext = withSampleTracking(
          { node, sample: ctx.sample, sampleUnavailable: ctx.sampleUnavailable, keyspace: ctx.keyspace, policy: ctx.policy },
          read,
        );
        const hit = rule.check(nodeCtx);
        return hit && { hit, fix: rule.fix(hit, nodeCtx) };
      });
    }
  }
  const order = new Map(rules.map((r, i) => [r.id, i]));
  findings.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  return { findings, skipped };
}

/** Which facts a rule's check read. */
interface Reads {
  sample: boolean;
}

/** The context with `sample` behind a getter, so a finding that read the keyspace says how it was read. */
function withSampleTracking<C extends { sample?: ScanReport }>(ctx: C, read: Reads): C {
  return {
    ...ctx,
    get sample() {
      if (ctx.sample) read.sample = true;
      return ctx.sample;
    },
  };
}

/** The finding's coverage: how the keyspace was read, plus what the rule adds (an interval, a may-miss command). */
function findingCoverage(keyspace: KeyspaceCoverage | undefined, hit: Hit): FindingCoverage | undefined {
  if (!keyspace) return undefined;
  const extra = keyspace.read === 'sample' ? (hit.coverage ?? {}) : {};
  return { read: keyspace.read, keysRead: keyspace.keysRead, dbsize: keyspace.dbsize, ...extra };
}

function summarize(findings: DoctorFinding[]): Record<Severity, number> {
  const summary: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const f of findings) summary[f.severity]++;
  return summary;
}

/** True when some finding is at `level` or more severe (the CLI's `--fail-on`). */
export function reachesSeverity(report: DoctorReport, level: Severity): boolean {
  const bar = SEVERITIES.indexOf(level);
  return report.findings.some((f) => SEVERITIES.indexOf(f.severity) <= bar);
}
