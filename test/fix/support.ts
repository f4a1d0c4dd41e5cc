/**
 * Shared helpers for the fix tests: filling a server, reading command counters, and running
 * the CLI in-process with captured output.
 */
import type { Redis } from 'ioredis';

/** SET `count` keys `prefix<i>` (no TTL) in pipelined chunks. */
export async function fill(client: Redis, prefix: string, count: number, options: { ttlSeconds?: number } = {}): Promise<void> {
  for (let start = 0; start < count; start += 5000) {
    const p = client.pipeline();
    for (let i = start; i < Math.min(count, start + 5000); i++) {
      if (options.ttlSeconds) p.set(`${prefix}${i}`, 'v', 'EX', options.ttlSeconds);
      else p.set(`${prefix}${i}`, 'v');
    }
    await p.exec();
  }
}

/** `cmdstat_<name>` calls from INFO commandstats (0 when never called). */
export async function calls(client: Redis, command: string): Promise<number> {
  const info = await client.info('commandstats');
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return m ? Number(m[1]) : 0;
}

/** Keys matching `glob` that have no TTL / have one, by SCAN. */
export async function ttlCounts(client: Redis, glob: string): Promise<{ withTtl: number; without: number }> {
  let cursor = '0';
  const out = { withTtl: 0, without: 0 };
  do {
    const [next, keys] = await client.scanBuffer(cursor, 'MATCH', glob, 'COUNT', 1000);
    cursor = next.toString();
    if (keys.length === 0) continue;
    const p = client.pipeline();
    for (const k of keys) p.pttl(k);
    for (const [, v] of (await p.exec()) ?? []) {
      if (Number(v) >= 0) out.withTtl++;
      else if (Number(v) === -1) out.without++;
    }
  } while (cursor !== '0');
  return out;
}

export { runCli as cli } from '../support/cli.js';
