/**
 * Atomic rate limiting whose keys always carry a TTL. The classic `INCR`, then `EXPIRE` when
 * the count is 1, leaks the key forever when the process dies between the two; here the
 * counter and its expiry are set in one MULTI (fixed window) or one Lua script (sliding window).
 */
import { randomUUID } from 'node:crypto';
import { UsageError } from '../../errors.js';
import { helperClient, luaScript } from './client.js';
import { durationOption, type Duration } from './options.js';

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Requests allowed per window (a positive integer). */
  limit: number;
  /** Window length: seconds or a duration such as `'1m'`. */
  window: Duration;
  /**
   * `fixed` (default): a counter per window, `INCR` + `PEXPIRE … NX` in one MULTI; cheap, but
   * allows up to 2 × limit across a window boundary. `sliding`: a log of the requests in the
   * last `window` (a sorted set, one Lua script); exact, one member per allowed request.
   */
  algorithm?: 'fixed' | 'sliding';
}

/** The outcome of one {@link rateLimit} call. */
export interface RateLimitResult {
  /** True when this request is within the limit. */
  allowed: boolean;
  /** Requests still allowed in the current window. */
  remaining: number;
  /** Fixed: ms until the window resets. Sliding: ms until the oldest counted request leaves the window. */
  resetMs: number;
}

const HELPER = 'rateLimit';
const sliding = luaScript('guard-sliding-window');

/**
 * Count one request against `key` and say whether it is allowed.
 *
 * Fixed window: `MULTI; INCR key; PEXPIRE key window NX; PTTL key; EXEC` — the window starts at
 * the first request, and the key can never exist without its TTL. Sliding window: one Lua
 * script trims requests older than `window` (server time), adds this one if under the limit,
 * and refreshes the key's TTL to one window. Denied requests are not counted in the sliding
 * log; in the fixed window they are (the counter keeps growing until the window resets).
 *
 * @example
 * const { allowed, resetMs } = await rateLimit(redis, `rate:login:${ip}`, { limit: 5, window: '1m' });
 * if (!allowed) reply.header('Retry-After', Math.ceil(resetMs / 1000)).code(429);
 */
export async function rateLimit(client: object, key: string, options: RateLimitOptions): Promise<RateLimitResult> {
  const { limit } = options;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new UsageError(
      `rateLimit: limit ${String(limit)} is not a positive integer`,
      'give limit as the number of requests allowed per window, e.g. limit: 100',
    );
  const windowMs = durationOption(HELPER, 'window', options.window);
  const redis = helperClient(client);

  if ((options.algorithm ?? 'fixed') === 'sliding') {
    const [allowed, count, reset] = (await redis.script(sliding, [key], [String(limit), String(windowMs), randomUUID()])) as [number, number, number];
    return { allowed: allowed === 1, remaining: Math.max(0, limit - count), resetMs: Math.max(0, reset) };
  }
  const [count, , pttl] = (await redis.transaction(key, [
    ['INCR', key],
    ['PEXPIRE', key, String(windowMs), 'NX'],
    ['PTTL', key],
  ])) as [number, number, number];
  return { allowed: count <= limit, remaining: Math.max(0, limit - count), resetMs: Math.max(0, pttl) };
}
