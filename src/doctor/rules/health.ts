/**
 * Memory health: fragmentation and swapping, read from the ratio of RSS to used memory — only
 * once used memory is large enough for the ratio to mean something (a 2 MB instance with ratio
 * 5 is the allocator's baseline, not a finding).
 */
import { formatBytes } from '../format.js';
import { infoNumber, requireInfoNumber } from '../facts.js';
import type { NodeRule } from '../types.js';

/** Below this, RSS is dominated by the allocator's and the binary's fixed costs. */
export const MEANINGFUL_USED_BYTES = 32 * 1024 * 1024;
const FRAGMENTATION_RATIO = 1.5;
const FRAGMENTATION_BYTES = 32 * 1024 * 1024;
const SWAP_RATIO = 0.9;

const fragmentationHigh: NodeRule = {
  id: 'fragmentation-high',
  scope: 'node',
  severity: 'warning',
  title: 'Memory is fragmented',
  why: 'The process holds much more RAM than its data: the host runs out of memory (or the OOM killer strikes) well before maxmemory is reached.',
  check({ node }) {
    const used = requireInfoNumber(node, 'used_memory');
    const ratio = requireInfoNumber(node, 'mem_fragmentation_ratio');
    const rss = requireInfoNumber(node, 'used_memory_rss');
    const wasted = infoNumber(node, 'mem_fragmentation_bytes') ?? rss - used;
    if (used < MEANINGFUL_USED_BYTES || ratio < FRAGMENTATION_RATIO || wasted < FRAGMENTATION_BYTES) return undefined;
    const allocatorRatio = infoNumber(node, 'allocator_frag_ratio');
    return {
      severity: ratio >= 3 ? 'critical' : 'warning',
      detail: `RSS ${formatBytes(rss)} for ${formatBytes(used)} of data: fragmentation ratio ${ratio} (${formatBytes(wasted)} held but unused)`,
      evidence: {
        fragmentationRatio: ratio,
        fragmentationBytes: wasted,
        usedMemoryBytes: used,
        rssBytes: rss,
        allocatorFragRatio: allocatorRatio ?? null,
        allocator: node.info?.mem_allocator ?? null,
        activeDefrag: node.config?.activedefrag ?? null,
      },
    };
  },
  fix(hit) {
    const jemalloc = String(hit.evidence.allocator ?? '').startsWith('jemalloc');
    return [
      jemalloc
        ? 'CONFIG SET activedefrag yes (and redis.conf: activedefrag yes) — defragments in the background, bounded by active-defrag-cycle-max'
        : 'active defragmentation needs jemalloc: this build uses another allocator',
      'or restart the instance after a failover to a freshly synced replica (its memory is compact)',
      'avoid the cause: many keys deleted or expired together, or values that change size often',
    ];
  },
};

const swapping: NodeRule = {
  id: 'swapping',
  scope: 'node',
  severity: 'critical',
  title: 'Redis memory appears to be swapped out',
  why: 'RSS below used memory means part of the dataset lives in swap: every command touching it waits on disk, and latency goes from microseconds to milliseconds or seconds.',
  check({ node }) {
    const used = requireInfoNumber(node, 'used_memory');
    const rss = requireInfoNumber(node, 'used_memory_rss');
    if (used < MEANINGFUL_USED_BYTES || rss <= 0 || rss / used >= SWAP_RATIO) return undefined;
    return {
      detail: `RSS ${formatBytes(rss)} is below used memory ${formatBytes(used)} (ratio ${(rss / used).toFixed(2)})`,
      evidence: { rssBytes: rss, usedMemoryBytes: used, ratio: Math.round((rss / used) * 100) / 100 },
    };
  },
  fix() {
    return [
      'confirm on the host: grep VmSwap /proc/$(pidof redis-server)/status',
      'give Redis RAM it can keep: set maxmemory below the host (or container) limit, and vm.swappiness=1 on dedicated hosts',
      'reduce the dataset: keywarden scan --sample 1% shows which patterns to expire (keywarden fix)',
    ];
  },
};

export const healthRules = [fragmentationHigh, swapping] as const satisfies readonly NodeRule[];
