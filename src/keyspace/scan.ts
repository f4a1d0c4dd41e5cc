/**
 * `scanKeyspace`: the audit as a function. Streams KeyRecords from the live scanner into the
 * aggregator and returns the plain ScanReport that every renderer, doctor and watch use.
 */
import type { Target } from '../target/connect.js';
import { Aggregator, type AggregateOptions } from './aggregate.js';
import { sampleCaveat, type ScanReport } from './report.js';
import { BIG_KEY, EXPIRY_CLUSTER_KEYS } from './thresholds.js';
import { readRecords, ScanFailedError, type ScanOptions, type ScanRun } from './scanner.js';

export type ScanKeyspaceOptions = Omit<ScanOptions, 'onBatch'> & AggregateOptions;

/**
 * Audit the keyspace of every node of `target` without blocking it: SCAN in bounded steps,
 * paced by the latency guard, grouped by inferred pattern (or policy rule).
 * Read-only: it never writes to the server.
 *
 * @returns the report; `coverage.complete` is false when sampled, interrupted or out of time.
 * @throws ScanFailedError when a node stops answering, drops or refuses mid-scan; its
 * `partial` is the report of what was read, `coverage.interrupted` saying why it stopped.
 */
export async function scanKeyspace(target: Target, options: ScanKeyspaceOptions = {}): Promise<ScanReport> {
  const aggregator = new Aggregator(options);
  // The audit needs no checkpoints, so two lanes (each with half the call budget) keep the
  // server busy even while this process decodes a reply or is descheduled.
  const lanes = options.lanes ?? 2;
  const run = await readRecords(target, { ...options, lanes, onBatch: (records) => aggregator.add(records) });
  // A node failed mid-scan: what was read is still worth seeing, marked incomplete.
  if (run.failure) throw new ScanFailedError(run.failure, run, buildReport(target, options, aggregator, run));
  return buildReport(target, options, aggregator, run);
}

/** The plain report of a run, complete or not (`coverage` says which, and why). */
function buildReport(target: Target, options: ScanKeyspaceOptions, aggregator: Aggregator, run: ScanRun): ScanReport {
  const dbsize = run.nodes.reduce((s, n) => s + n.dbsize, 0);
  const keysSeen = run.nodes.reduce((s, n) => s + n.keysSeen, 0);
  const sampled = run.sampleFraction < 1;
  // A filtered scan (--match/--type) reports what it saw, not an estimate of the whole db.
  const filtered = options.match !== undefined || options.type !== undefined;
  const agg = aggregator.finish(sampled && !filtered ? { population: dbsize } : undefined);
  const complete = !sampled && run.nodes.every((n) => n.complete);
  const seconds = run.durationMs / 1000;
  // A filter is applied as the keys are walked: the work is every key walked, not the matches.
  const keysRead = filtered ? run.nodes.reduce((s, n) => s + (n.complete ? Math.max(n.dbsize, n.keysSeen) : n.keysSeen), 0) : keysSeen;
  const gone = complete && !filtered ? dbsize - keysSeen : 0;
  const report: ScanReport = {
    kind: 'keywarden.scan',
    schemaVersion: 1,
    takenAt: new Date(Date.now() - run.durationMs).toISOString(),
    target: {
      url: target.spec.display,
      mode: target.mode,
      redisVersion: target.redisVersion,
      nodes: run.nodes.map((n) => ({ address: n.address, role: n.role, dbs: n.dbs, keysSeen: n.keysSeen, dbsize: n.dbsize, complete: n.complete })),
    },
    coverage: {
      complete,
      sampled,
      ...(sampled ? { sampleFraction: dbsize > 0 ? keysSeen / dbsize : run.sampleFraction } : {}),
      keysSeen,
      dbsize,
      ...(filtered ? { keysRead } : {}),
      ...(gone > 0 ? { goneDuringScan: gone } : {}),
      vanished: run.nodes.reduce((s, n) => s + n.vanished, 0),
      ...(run.interrupted ? { interrupted: run.interrupted } : {}),
      ...(sampled ? { caveat: sampleCaveat(keysSeen, dbsize) } : {}),
      unmeasured: run.nodes.some((n) => !n.measuresMemory) ? ['bytes'] : [],
      method: run.nodes.every((n) => n.method === 'lua') ? 'lua' : 'pipeline',
      durationMs: Math.round(run.durationMs),
      keysPerSecond: Math.round(keysRead / Math.max(seconds, 1e-3)),
    },
    totals: agg.totals,
    patterns: agg.patterns,
    bigKeys: agg.bigKeys,
    expiryClusters: agg.expiryClusters,
    thresholds: { bigKeyBytes: BIG_KEY.bytes, bigKeyElements: BIG_KEY.elements, expiryClusterKeys: options.clusterMin ?? EXPIRY_CLUSTER_KEYS },
  };
  if (options.policy) report.policy = { file: options.policy.file, violations: agg.violations };
  return report;
}
