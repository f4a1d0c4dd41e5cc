/**
 * The one floor every TTL keywarden sends must clear, wherever it comes from: a policy rule,
 * `--ttl`, `--max-ttl`, jitter, `watch --enforce`, `guard()`. A TTL of 0 (or a PEXPIRE of a
 * few milliseconds) does not "expire soon": it deletes the key at once, so a typo such as
 * `--max-ttl 0` would empty the keyspace while reporting "TTLs set". Below one second nothing
 * is a TTL anyone means, so nothing below it is ever sent.
 */
import { PolicyError } from '../errors.js';
import { formatDuration } from './duration.js';

/** Key TTLs below one second are refused before anything is written. */
export const MIN_TTL_MS = 1000;

/**
 * Refuse a key TTL below {@link MIN_TTL_MS}.
 *
 * @param what names the source in the message, e.g. `--max-ttl` or `rules[0] (session:*) with its jitter`.
 * @throws PolicyError (one line, exit 2 in the CLI) naming the source and the floor.
 */
export function assertKeyTtl(ms: number, what: string, example = '1h'): void {
  if (Number.isFinite(ms) && ms >= MIN_TTL_MS) return;
  throw new PolicyError(
    `${what}: ${Number.isFinite(ms) ? formatDuration(ms) : String(ms)} is below the minimum key TTL of ${formatDuration(MIN_TTL_MS)} (a TTL that short deletes the key at once)`,
    `give a TTL of at least 1s, e.g. ${example}`,
  );
}

/**
 * The shortest TTL a rule with `ttlMs` and `jitter` can draw: jitter only shortens, to
 * `ttl × (1 − jitter)`.
 */
export function shortestJitteredTtl(ttlMs: number, jitter = 0): number {
  return Math.floor(ttlMs * (1 - jitter));
}
