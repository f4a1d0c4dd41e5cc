/** The guard library: TTLs enforced inside the application's Redis client, and TTL-safe helpers. */
export { guard, GuardViolationError, type GuardOptions, type GuardMode, type GuardViolation } from './guard.js';
