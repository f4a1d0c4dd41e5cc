/**
 * The lines keywarden draws in a keyspace, named once: scan's report, doctor's rules
 * (`big-keys`, `lazyfree-off-with-big-keys`, `expiry-stampede`) and the README all use these.
 */

/**
 * A big key: 10 MB or more, or a million elements or more. Deleting, expiring, evicting,
 * migrating or reading such a key whole holds Redis for milliseconds to seconds (freeing is
 * one step per element, serializing one per byte), and it puts memory and traffic on one node.
 * Below it, the biggest keys are listed but not flagged: a 1 MB, 10,000-member leaderboard
 * is freed in about a millisecond.
 */
export const BIG_KEY = { bytes: 10 * 1024 * 1024, elements: 1_000_000 } as const;

/** "10 MB or 1M elements": the threshold as people read it. */
export const BIG_KEY_TEXT = '10 MiB or 1M elements';

/** True when a key reaches the big-key threshold (`length` is -1 when not measured). */
export function isBigKey(key: { bytes: number; length: number }): boolean {
  return key.bytes >= BIG_KEY.bytes || key.length >= BIG_KEY.elements;
}

/**
 * Keys expiring in the same second that make an expiry cluster (a stampede waiting to happen):
 * a thousand cache misses in one second reach the database behind the cache together.
 */
export const EXPIRY_CLUSTER_KEYS = 1000;
