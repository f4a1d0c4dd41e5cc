/**
 * Memory growth over the doctor's own run, for the time-to-full estimate. Measured on
 * used_memory_dataset (the keys and values, not client buffers the doctor itself causes),
 * and only reported when it grew: a shrinking or flat dataset has no time-to-full.
 */
import type { Redis } from 'ioredis';
import type { RedisNode } from '../target/connect.js';
import { parseInfo } from '../target/info.js';
import type { NodeFacts } from './facts.js';

export interface GrowthProbe {
  startedAt: number;
  start: Map<string, { client: Redis; bytes: number }>;
}

async function dataset(client: Redis): Promise<number | undefined> {
  try {
    const info = parseInfo(await client.info('memory'));
    const bytes = Number(info.used_memory_dataset ?? info.used_memory);
    return Number.isFinite(bytes) ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** First reading on every master. */
export async function startGrowth(nodes: RedisNode[]): Promise<GrowthProbe> {
  const start = new Map<string, { client: Redis; bytes: number }>();
  await Promise.all(
    nodes
      .filter((n) => n.role === 'master')
      .map(async (n) => {
        const bytes = await dataset(n.client);
        if (bytes !== undefined) start.set(n.address, { client: n.client, bytes });
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
      const bytes = await dataset(first.client);
      const elapsedMs = Date.now() - probe.startedAt;
      if (bytes === undefined || bytes <= first.bytes || elapsedMs <= 0) return;
      node.growth = { bytesPerSecond: Math.round(((bytes - first.bytes) / elapsedMs) * 1000), windowMs: elapsedMs };
    }),
  );
}
