/**
 * Giving keys a TTL changes what a `volatile-*` eviction policy may evict: every key fix
 * writes becomes an eviction candidate the moment its TTL is set. On a server already near
 * maxmemory that can evict the very keys just fixed — sessions, tokens — long before their
 * TTL (40,000 in the field test). fix --apply says so before it writes, and doctor has the
 * same check as a finding (`fix-makes-keys-evictable`).
 */
import { parseInfo } from '../target/info.js';
import type { Target } from '../target/connect.js';

/** Used memory at or above this share of maxmemory counts as near the limit (doctor's memory-near-limit threshold). */
export const NEAR_MAXMEMORY = 0.8;

/** One node where a TTL makes a key evictable at once. */
export interface EvictionRisk {
  node: string;
  policy: string;
  usedBytes: number;
  maxBytes: number;
  usedRatio: number;
}

/** True when `policy` evicts only keys with a TTL and memory is near the limit. */
export function ttlMakesEvictable(policy: string, usedBytes: number, maxBytes: number): boolean {
  return policy.startsWith('volatile-') && maxBytes > 0 && usedBytes / maxBytes >= NEAR_MAXMEMORY;
}

/** The nodes of `target` where fix's TTLs would make keys evictable at once (INFO memory; nodes that refuse INFO are skipped). */
export async function evictionRisks(target: Target): Promise<EvictionRisk[]> {
  const risks: EvictionRisk[] = [];
  for (const node of target.nodes) {
    const info = await node.client.info('memory').then(parseInfo, () => undefined);
    if (!info) continue;
    const policy = info.maxmemory_policy ?? '';
    const usedBytes = Number(info.used_memory ?? 0);
    const maxBytes = Number(info.maxmemory ?? 0);
    if (ttlMakesEvictable(policy, usedBytes, maxBytes)) risks.push({ node: node.address, policy, usedBytes, maxBytes, usedRatio: usedBytes / maxBytes });
  }
  return risks;
}
