/** The guard library: TTLs enforced inside the application's Redis client, and TTL-safe helpers. */
export { guard, GuardViolationError, type GuardOptions, type GuardMode, type GuardViolation } from './guard.js';
export { cacheAside, type CacheAsideOptions } from './helpers/cache-aside.js';
export { rateLimit, type RateLimitOptions, type RateLimitResult } from './helpers/rate-limit.js';
export { session, type SessionOptions, type SessionStore } from './helpers/session.js';
export type { Duration } from './helpers/options.js';
