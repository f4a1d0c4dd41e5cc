/**
 * Memory growth over the doctor's own run, for the time-to-full estimate. Measured on
 * used_memory_dataset (the keys and values, not client buffers the doctor itself causes), and
 * only reported when the data really grew: more keys, or at least 1 MB more. A few hundred KB
 * of drift (dict rehashing after a bulk load, the allocator) would otherwise forecast a
 * "full in 26s" that never comes.
 */
import type { Redis } from 'ioredis';
import type { RedisNode } from '../target/connect.js';
import { parseInfo, parseKeyspace } from '../target/info.js';
import type { NodeFacts } from './facts.js';

export interface GrowthProbe {
  startedAt: number;
  start: Map<string, { client: Redis; bytes: number; keys: number }>;
}

const MIN_GROWTH_BYTES = 1024 * 1024;

async function dataset(client: Redis): Promise<{ bytes: number; keys: number } | undefined> {
  try {
    const info = parseInfo(await client.info());
    const bytes = Number(info.used_memory_dataset ?? info.used_memory);
    let keys = 0;
    for (const { keys: k } of parseKeyspace(info).values()) keys += k;
    return Number.isFinite(bytes) ? { bytes, keys } : undefined;
  } catch {
    return undefined;
  }
}

/** First reading on every master. */
export async function startGrowth(nodes: RedisNode[]): Promise<GrowthProbe> {
  const start = new Map<string, { client: Redis; bytes: number; keys: number }>();
  await Promise.all(
    nodes
      .filter((n) => n.role === 'master')
      .map(async (n) => {
        const first = await dataset(n.client);
        if (first) start.set(n.address, { client: n.client, ...first });
      }),
  );
  return { startedAt: Date.now(), start };
}

/** Second reading, at least `windowMs` after the first; sets `growth` on nodes that grew. */
export async function measureGrowth(probe: GrowthProbe, nodes: NodeFacts[], windowMs: number): Promise<void> {
  const wait = probe.startedAt + windowMs - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  await Promise.all(
    nodes.map(async (node) => {
      const first = probe.start.get(node.label);
      if (!first) return;
      const now = await dataset(first.client);
      const elapsedMs = Date.now() - probe.startedAt;
      if (!now || now.bytes <= first.bytes || elapsedMs <= 0) return;
      if (now.keys <= first.keys && now.bytes - first.bytes < MIN_GROWTH_BYTES) return;
      node.growth = { bytesPerSecond: Math.round(((now.bytes - first.bytes) / elapsedMs) * 1000), windowMs: elapsedMs };
    }),
  );
}
