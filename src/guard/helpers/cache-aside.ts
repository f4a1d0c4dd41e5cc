/**
 * Cache-aside with stampede protection: on a miss, one caller across every process takes a
 * `SET lock token NX PX` lock and runs the loader; the others wait briefly for its value (or
 * serve the stale one). Values are written with `SET … PX` and jitter, so keys written together
 * do not expire together.
 */
import { randomUUID } from 'node:crypto';
import { ttlForRule } from '../../policy/index.js';
import { helperClient, luaScript, type HelperClient } from './client.js';
import { durationOption, jitterOption, sleep, type Duration } from './options.js';

/** Options of {@link cacheAside}. */
export interface CacheAsideOptions<T> {
  /** How long a value is fresh: seconds or a duration such as `'1h'`. */
  ttl: Duration;
  /** Fraction in [0, 1) (`0.1` or `'10%'`): each write's TTL is drawn from (ttl × (1 − jitter), ttl]. */
  jitter?: number | string;
  /** How long the loader lock is held at most (default `'10s'`); a crashed loader frees it after this. */
  lockTtl?: Duration;
  /**
   * Keep a value this much longer than `ttl`; a caller that finds it past `ttl` gets it at once
   * while one caller reloads it in the background. Default: no stale serving.
   */
  staleWhileRevalidate?: Duration;
  /** How long a caller waits for another caller's loader before loading itself (default: `lockTtl`). */
  waitTimeout?: Duration;
  /** Value → stored string (default `JSON.stringify`). */
  serialize?: (value: T) => string;
  /** Stored string → value (default `JSON.parse`). */
  deserialize?: (text: string) => T;
  /** Called when a background refresh fails (default: a process warning). */
  onRefreshError?: (err: unknown) => void;
}

interface Settings<T> {
  ttlMs: number;
  jitter: number;
  lockMs: number;
  staleMs: number;
  waitMs: number;
  serialize: (value: T) => string;
  deserialize: (text: string) => T;
  onRefreshError: (err: unknown) => void;
}

const HELPER = 'cacheAside';
const unlock = luaScript('guard-unlock');

function settings<T>(options: CacheAsideOptions<T>): Settings<T> {
  const lockMs = durationOption(HELPER, 'lockTtl', options.lockTtl ?? '10s');
  return {
    ttlMs: durationOption(HELPER, 'ttl', options.ttl, 1000),
    jitter: jitterOption(HELPER, options.jitter),
    lockMs,
    staleMs: options.staleWhileRevalidate === undefined ? 0 : durationOption(HELPER, 'staleWhileRevalidate', options.staleWhileRevalidate),
    waitMs: options.waitTimeout === undefined ? lockMs : durationOption(HELPER, 'waitTimeout', options.waitTimeout, 0),
    serialize: options.serialize ?? ((v) => JSON.stringify(v)),
    deserialize: options.deserialize ?? ((s) => JSON.parse(s) as T),
    onRefreshError:
      options.onRefreshError ?? ((err) => process.emitWarning(`keywarden cacheAside: background refresh failed: ${String(err)}`, { code: 'KEYWARDEN_CACHE' })),
  };
}

/** Run the loader under the lock and store its value; the lock is released only if still ours. */
async function loadAndStore<T>(redis: HelperClient, key: string, token: string, loader: () => Promise<T> | T, s: Settings<T>): Promise<T> {
  try {
    const value = await loader();
    const text = s.serialize(value);
    if (text !== undefined) {
      const ttl = ttlForRule({ index: -1, match: key, ttlMs: s.ttlMs, jitter: s.jitter }) ?? s.ttlMs;
      await redis.command(key, ['SET', key, text, 'PX', String(ttl + s.staleMs)]);
    }
    return value;
  } finally {
    await redis.script(unlock, [lockKey(key)], [token]).catch(() => undefined);
  }
}

/** Same hash tag as the key when it has one, so the lock lives on the key's node. */
const lockKey = (key: string): string => `${key}:lock`;

async function tryLock(redis: HelperClient, key: string, token: string, lockMs: number): Promise<boolean> {
  return (await redis.command(lockKey(key), ['SET', lockKey(key), token, 'NX', 'PX', String(lockMs)])) === 'OK';
}

/**
 * Get `key` from Redis, or load it once across all callers and cache it with a jittered TTL.
 *
 * On a miss, the caller that wins a `SET key:lock token NX PX lockTtl` runs `loader` and writes
 * the value with `SET key value PX ttl`; concurrent callers (in this process or others) poll
 * for that value for up to `waitTimeout`, then load it themselves. With
 * `staleWhileRevalidate`, a value past its `ttl` is returned at once while one caller
 * refreshes it in the background. Works with ioredis and node-redis clients, guarded or not.
 *
 * @example
 * const user = await cacheAside(redis, `cache:user:${id}`, () => db.user(id), { ttl: '10m', jitter: '10%' });
 */
export async function cacheAside<T>(client: object, key: string, loader: () => Promise<T> | T, options: CacheAsideOptions<T>): Promise<T> {
  const s = settings(options);
  const redis = helperClient(client);
  const token = randomUUID();

  const [text, pttl] = (await redis.transaction(key, [
    ['GET', key],
    ['PTTL', key],
  ])) as [string | null, number];
  if (text !== null && text !== undefined) {
    const stale = s.staleMs > 0 && pttl >= 0 && pttl <= s.staleMs;
    if (stale && (await tryLock(redis, key, token, s.lockMs))) {
      loadAndStore(redis, key, token, loader, s).catch(s.onRefreshError);
    }
    return s.deserialize(text);
  }

  const deadline = Date.now() + s.waitMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    if (await tryLock(redis, key, token, s.lockMs)) {
      // Another caller may have loaded and released the lock since this one looked: check again.
      const loaded = (await redis.command(key, ['GET', key])) as string | null;
      if (loaded === null || loaded === undefined) return loadAndStore(redis, key, token, loader, s);
      await redis.script(unlock, [lockKey(key)], [token]).catch(() => undefined);
      return s.deserialize(loaded);
    }
    await sleep(pause);
    const cached = (await redis.command(key, ['GET', key])) as string | null;
    if (cached !== null && cached !== undefined) return s.deserialize(cached);
    if (Date.now() >= deadline) return loader();
  }
}
