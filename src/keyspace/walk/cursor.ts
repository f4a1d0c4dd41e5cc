/**
 * SCAN cursor geometry. Redis walks hash-table buckets in bit-reversed order, so reversing
 * a cursor's 64 bits gives its position in [0, 1) along the walk whatever the table size.
 * That yields an exact progress ratio and lets a sampled scan visit evenly spread
 * stretches of the table instead of only its beginning.
 */
import type { Redis } from 'ioredis';

/** One SCAN page from `cursor` (COUNT in buckets): the next cursor and the key names, binary-safe. */
export async function scanPage(
  conn: Redis,
  cursor: string,
  count: number,
  filter: { match?: string; type?: string } = {},
): Promise<{ next: string; keys: Buffer[] }> {
  const args: Array<string | number> = [cursor, 'COUNT', count];
  if (filter.match) args.push('MATCH', filter.match);
  if (filter.type) args.push('TYPE', filter.type);
  const [next, keys] = (await conn.callBuffer('SCAN', ...args)) as [Buffer, Buffer[]];
  return { next: next.toString(), keys };
}

function reverse64(v: bigint): bigint {
  let r = 0n;
  for (let i = 0; i < 64; i++) {
    r = (r << 1n) | (v & 1n);
    v >>= 1n;
  }
  return r;
}

/** Position of a cursor along the whole walk, in [0, 1). Cursor 0 (start) is 0. */
export function cursorPosition(cursor: string): number {
  const v = Number(cursor);
  // Asked several times per step: a cursor below 2^53 (every table that fits in memory) is
  // reversed as two 32-bit halves, without BigInt.
  if (!Number.isSafeInteger(v)) return Number(reverse64(BigInt(cursor))) / 2 ** 64;
  return reverse32(v >>> 0) / 2 ** 32 + reverse32(Math.floor(v / 2 ** 32)) / 2 ** 64;
}

/** The 32 bits of `v` in reverse order. */
function reverse32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

/** The cursor at which a walk reaches `position` (in [0, 1)). */
export function cursorAt(position: number): string {
  const p = BigInt(Math.floor(Math.min(Math.max(position, 0), 1 - 2 ** -52) * 2 ** 52)) << 12n;
  return reverse64(p).toString();
}

/** A stretch of the walk: from `start` until the cursor passes `end` (or returns to 0). */
export interface Stretch {
  start: number;
  end: number;
}

/**
 * Sampling plan: `strata` equal slices of the walk, each read for `fraction` of its length
 * from a random offset inside the slice. Bucket order follows the keys' hash (siphash with
 * a per-server random seed), so each stretch holds an unbiased share of the keys, and
 * spreading stretches over the whole table removes any dependence on one region.
 */
export function samplePlan(fraction: number, strata = 64, random: () => number = Math.random): Stretch[] {
  if (fraction >= 1) return [{ start: 0, end: 1 }];
  const width = 1 / strata;
  return Array.from({ length: strata }, (_, i) => {
    const start = i * width + random() * width * (1 - fraction);
    return { start, end: start + width * fraction };
  });
}

/**
 * A repeatable stream of numbers in [0, 1) (mulberry32) for `samplePlan`: the same seed
 * gives the same stretches, so on the same server and data two runs read the same keys.
 * The keys' hash (seeded per server process) still scatters them over the walk, so the
 * sample stays a hash-random share of the table; what is lost is only that repeated runs
 * on one server average out their error: each repeats the same one.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
