/**
 * The lines scan's single-key lists are drawn with, said the same way by every renderer
 * (table, Markdown, HTML; JSON carries `coverage.caveat` and `thresholds`).
 */
import type { ScanReport } from '../../keyspace/report.js';
import { EXPIRY_CLUSTER_KEYS } from '../../keyspace/thresholds.js';

/** The expiry-cluster threshold the report was made with. */
export function clusterKeys(report: ScanReport): number {
  return report.thresholds?.expiryClusterKeys ?? EXPIRY_CLUSTER_KEYS;
}

/** A sampled report's caveat for its big keys and expiry clusters; undefined for a full scan. */
export function sampleCaveat(report: ScanReport): string | undefined {
  return report.coverage.sampled ? report.coverage.caveat : undefined;
}
