/**
 * keywarden's library API: named exports only. Each part adds its own block.
 */

// guard: TTLs enforced inside the application's Redis client, and TTL-safe helpers.
export {
  guard,
  GuardViolationError,
  cacheAside,
  rateLimit,
  session,
  type GuardOptions,
  type GuardMode,
  type GuardViolation,
  type CacheAsideOptions,
  type RateLimitOptions,
  type RateLimitResult,
  type SessionOptions,
  type SessionStore,
  type Duration,
} from './guard/index.js';
