/**
 * The pure half of fix: which keys get a TTL, which are left alone and why, and the per-rule
 * tally the plan and the summary are made of. No I/O here; `apply.ts` feeds it KeyRecords.
 */
import { displayKey } from '../display.js';
import { TTL_UNKNOWN, type KeyRecord } from '../keyspace/record.js';
import { createMatcher, formatDuration, ttlForRule, type Policy, type PolicyRule } from '../policy/index.js';
import type { FixOptions, FixRuleSummary, FixTotals } from './types.js';
import { NOT_SAMPLED, type WriteStatus } from './writer.js';

/** What fix does with one key. */
export type KeyDecision =
  | { action: 'expire'; rule: PolicyRule; ttlMs: number }
  | { action: 'shorten'; rule: PolicyRule; ttlMs: number }
  | { action: 'skip'; rule?: PolicyRule; reason: 'hasTtl' | 'durable' | 'noRule' };

/** What deciding a key needs of a run's options: `--max-ttl` and the jitter source. */
export type PlanOptions = Pick<FixOptions, 'maxTtlMs' | 'random'>;

const EXAMPLES = 3;

/**
 * Decide one key. Durable and unmatched keys are never touched; a key with a TTL is left
 * alone unless `maxTtlMs` is set and its TTL is longer (then it is shortened, never lengthened).
 * A key whose TTL was not read (`TTL_UNKNOWN`, keys-only walk) is sent `expire`: NX decides.
 */
export function decideKey(record: KeyRecord, rule: PolicyRule | undefined, options: PlanOptions = {}): KeyDecision {
  if (!rule) return { action: 'skip', reason: 'noRule' };
  const ttl = ttlForRule(rule, options.random);
  if (ttl === undefined) return { action: 'skip', rule, reason: 'durable' };
  const cap = options.maxTtlMs;
  if (record.ttlMs < 0) return { action: 'expire', rule, ttlMs: cap !== undefined ? Math.min(ttl, cap) : ttl };
  if (cap !== undefined && record.ttlMs > cap) return { action: 'shorten', rule, ttlMs: cap };
  return { action: 'skip', rule, reason: 'hasTtl' };
}

interface RuleTally extends Omit<FixRuleSummary, 'examples'> {
  examples: Buffer[];
}

/** Accumulates decisions and write outcomes into per-rule summaries and totals. */
export class FixTally {
  private readonly rules: RuleTally[];
  private readonly noRuleExamples: Buffer[] = [];
  /**
   * Per rule: keys whose bytes are in its `bytes`, and keys those bytes stand for (with the
   * keys written but left out of the measured sample, see byte-sample.ts).
   */
  private readonly measured: number[];
  private readonly stands: number[];
  readonly matcher;
  keysScanned = 0;
  durable = 0;
  noRule = 0;

  constructor(readonly policy: Policy) {
    this.matcher = createMatcher(policy);
    this.rules = policy.rules.map((r) => ({
      match: r.match,
      ttl: r.ttlMs !== undefined && r.role !== 'durable' ? formatDuration(r.ttlMs) : null,
      ...(r.role ? { role: r.role } : {}),
      matched: 0,
      needTtl: 0,
      applied: 0,
      alreadyHadTtl: 0,
      changedSinceScan: 0,
      shortened: 0,
      bytes: 0,
      examples: [],
    }));
    this.measured = this.rules.map(() => 0);
    this.stands = this.rules.map(() => 0);
  }

  /** Count a scanned key and its decision (the plan). */
  plan(record: KeyRecord, decision: KeyDecision): void {
    this.keysScanned++;
    if (!decision.rule) {
      this.noRule++;
      keepExample(this.noRuleExamples, record.key);
      return;
    }
    const t = this.rules[decision.rule.index];
    t.matched++;
    if (decision.action === 'skip' && decision.reason === 'durable') {
      this.durable++;
    } else if (record.ttlMs === TTL_UNKNOWN) {
      // Keys-only walk (apply): nothing was read, so the write's reply decides (`written`).
    } else if (decision.action === 'expire') {
      t.needTtl++;
      if (record.bytes > 0) this.addBytes(decision.rule.index, record.bytes);
      keepExample(t.examples, record.key);
    } else {
      t.alreadyHadTtl++;
    }
  }

  /**
   * Count the server's answer to `PEXPIRE … NX` for a key whose TTL was not read first
   * (apply): set means it had no TTL (needTtl, applied, bytes); refused means it had one
   * (alreadyHadTtl, including one given between SCAN and the write: the two cannot be told
   * apart, and neither is overwritten); gone means deleted since SCAN (changedSinceScan).
   * `bytes` NOT_SAMPLED: set, but left out of the measured sample (its rule's figure is scaled).
   */
  written(decision: KeyDecision, key: Buffer, status: WriteStatus, bytes: number): void {
    if (!decision.rule || decision.action !== 'expire') return;
    const t = this.rules[decision.rule.index];
    if (status === 'set') {
      t.needTtl++;
      t.applied++;
      if (bytes > 0) this.addBytes(decision.rule.index, bytes);
      else if (bytes === NOT_SAMPLED) this.stands[decision.rule.index]++;
      keepExample(t.examples, key);
    } else if (status === 'refused') t.alreadyHadTtl++;
    else t.changedSinceScan++;
  }

  /** Count a TTL shortened to `--max-ttl` (dry run: one that would be). */
  shortened(decision: KeyDecision): void {
    if (decision.action === 'shorten') this.rules[decision.rule.index].shortened++;
  }

  private addBytes(rule: number, bytes: number): void {
    this.rules[rule].bytes += bytes;
    this.measured[rule]++;
    this.stands[rule]++;
  }

  /**
   * A rule's bytes: the sum measured, scaled to the keys it stands for when only a sample was
   * measured; a rule with none measured takes the mean of every rule's measured keys.
   */
  private bytesOf(rule: number): number {
    const { measured, stands } = this;
    const sum = this.rules[rule].bytes;
    if (measured[rule] === stands[rule]) return sum;
    if (measured[rule] > 0) return Math.round((sum * stands[rule]) / measured[rule]);
    const all = measured.reduce((a, b) => a + b, 0);
    return all > 0 ? Math.round((this.rules.reduce((a, r) => a + r.bytes, 0) * stands[rule]) / all) : 0;
  }

  /** True when some bytes figure is scaled from a measured sample rather than summed whole. */
  get bytesEstimated(): boolean {
    return this.measured.some((m, i) => m < this.stands[i]);
  }

  summaries(): FixRuleSummary[] {
    return this.rules.map((r, i) => ({ ...r, bytes: this.bytesOf(i), examples: r.examples.map((k) => displayKey(k)) }));
  }

  totals(durationMs: number, replicaPauseMs: number): FixTotals {
    const sum = (f: (r: RuleTally) => number) => this.rules.reduce((s, r) => s + f(r), 0);
    return {
      keysScanned: this.keysScanned,
      matched: sum((r) => r.matched),
      needTtl: sum((r) => r.needTtl),
      applied: sum((r) => r.applied),
      alreadyHadTtl: sum((r) => r.alreadyHadTtl),
      changedSinceScan: sum((r) => r.changedSinceScan),
      shortened: sum((r) => r.shortened),
      bytes: this.rules.reduce((s, _, i) => s + this.bytesOf(i), 0),
      durable: this.durable,
      noRule: this.noRule,
      noRuleExamples: this.noRuleExamples.map((k) => displayKey(k)),
      durationMs: Math.round(durationMs),
      keysPerSecond: Math.round(this.keysScanned / Math.max(durationMs / 1000, 1e-3)),
      replicaPauseMs: Math.round(replicaPauseMs),
    };
  }
}

/** Keep the smallest few keys, so examples do not depend on scan order. */
function keepExample(list: Buffer[], key: Buffer): void {
  if (list.length === EXAMPLES && Buffer.compare(key, list[EXAMPLES - 1]) >= 0) return;
  if (list.some((k) => k.equals(key))) return;
  list.push(key);
  list.sort(Buffer.compare);
  if (list.length > EXAMPLES) list.pop();
}
