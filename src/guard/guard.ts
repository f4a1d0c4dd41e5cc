/**
 * `guard(client, options)`: one line in an application's Redis setup, and every write that can
 * create a key gets the TTL its policy says — or, in strict mode, is refused before it is sent.
 */
import { readFileSync } from 'node:fs';
import { PolicyError, UsageError } from '../errors.js';
import { assertKeyTtl, parseDuration, parsePolicy, policyFromObject, type Policy } from '../policy/index.js';
import { guardIoredis, isIoredis } from './adapters/ioredis.js';
import { guardNodeRedis, isNodeRedis, isNodeRedisPool } from './adapters/node-redis.js';
import { guardNodeRedis4, isNodeRedis4 } from './adapters/node-redis4.js';
import { GuardPlanner, type GuardMode, type GuardViolation } from './planner.js';

/** Options of {@link guard}. */
export interface GuardOptions {
  /**
   * The policy: a path to `keywarden.yml` (read once, synchronously, when `guard` is called), a
   * policy object in the same shape as the YAML (`{ rules: [{ match: 'session:*', ttl: '24h' }] }`),
   * or a `Policy` from `loadPolicy`.
   */
  policy: string | Policy | { rules?: unknown[]; [field: string]: unknown };
  /**
   * - `default`: add the rule's TTL (with its jitter) to writes that lack one.
   * - `strict`: reject, before sending, a write that would create a key matching a TTL rule
   *   without giving it a TTL (a `GuardViolationError` naming key, pattern and rule).
   * - `warn`: send as is and report it to `onViolation` (or as a process warning).
   */
  mode?: GuardMode;
  /** TTL for keys no rule matches: seconds, or a duration such as `'1h'`. Unset: such keys are left alone. */
  defaultTtl?: number | string;
  /**
   * Called for each violation in `warn` mode, for scripts (EVAL/EVALSHA/FCALL) in `strict` and
   * `warn` modes, and for `COPY … DB n` into a key that needs a TTL in any mode.
   */
  onViolation?: (violation: GuardViolation) => void;
  /** Random source in [0, 1) for TTL jitter (tests inject one). */
  random?: () => number;
}

const MODES: readonly GuardMode[] = ['default', 'strict', 'warn'];

function readPolicy(policy: GuardOptions['policy']): Policy {
  if (typeof policy !== 'string') return policyFromObject(policy, 'guard options.policy');
  let text: string;
  try {
    text = readFileSync(policy, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PolicyError(
      `cannot read policy file ${policy}: ${code === 'ENOENT' ? 'no such file' : String(code ?? err)}`,
      'check the guard option policy (a path relative to the working directory, or a policy object)',
      { cause: err },
    );
  }
  return parsePolicy(text, policy);
}

/**
 * Wrap an ioredis or iovalkey (`Redis`, `Cluster`) or node-redis 4/5/6 (`createClient`,
 * `createCluster`) client so that every command that can create a key gets the TTL its policy asks for.
 *
 * The returned client has the same API and type as the one passed in; the original is not
 * modified and stays unguarded. SET-family writes get `PX ms` appended when they carry no
 * EX/PX/EXAT/PXAT; every other creating write (HSET, LPUSH, SADD, ZADD, INCR, *STORE, …) is
 * followed by `PEXPIRE key ms NX` in the same MULTI, so a crash cannot leave the key without a
 * TTL and an existing TTL is never reset. In the application's own pipelines and MULTIs the
 * PEXPIREs join that batch and their replies are hidden. `durable` rules never get a TTL.
 * Scripts (EVAL/EVALSHA/FCALL) cannot be inspected and pass through (reported in strict/warn).
 *
 * @example
 * const redis = guard(new Redis(process.env.REDIS_URL), { policy: 'keywarden.yml' });
 * await redis.hset('session:42', 'user', 'ada'); // HSET, then PEXPIRE session:42 86400000 NX
 *
 * @throws PolicyError when the policy cannot be read or is invalid; UsageError for a bad
 *   option or a client that is neither ioredis nor node-redis.
 */
export function guard<T extends object>(client: T, options: GuardOptions): T {
  const mode = options.mode ?? 'default';
  if (!MODES.includes(mode)) throw new UsageError(`guard: unknown mode ${JSON.stringify(mode)}`, "use mode 'default', 'strict' or 'warn'");
  const planner = new GuardPlanner(readPolicy(options.policy), {
    mode,
    defaultTtlMs: options.defaultTtl === undefined ? undefined : defaultTtlMs(options.defaultTtl),
    onViolation: options.onViolation,
    random: options.random,
  });
  if (isIoredis(client)) return guardIoredis(client, planner);
  if (isNodeRedisPool(client)) {
    throw new UsageError(
      'guard: a node-redis client pool (createClientPool) cannot be guarded',
      'guard a client from createClient() or createCluster(); a pool hands its commands to clients the guard never sees',
    );
  }
  if (isNodeRedis(client)) return guardNodeRedis(client, planner);
  if (isNodeRedis4(client)) return guardNodeRedis4(client, planner);
  throw new UsageError(`guard: unsupported client; supported: ${SUPPORTED_CLIENTS}`, describeClient());
}

/** The client libraries and major versions the guard is tested with (README's compatibility table). */
export const SUPPORTED_CLIENTS = 'ioredis 5 and 6 (new Redis, new Cluster), iovalkey 0.3 and 0.4, redis (node-redis) 4, 5 and 6 (createClient, createCluster)';

/** The hint for an unsupported client: what to pass instead. */
function describeClient(): string {
  return 'pass the object returned by new Redis(), new Cluster(), createClient() or createCluster()';
}

function defaultTtlMs(value: number | string): number {
  const ms = parseDuration(value);
  assertKeyTtl(ms, `guard: defaultTtl ${JSON.stringify(value)}`, "defaultTtl: '1h'");
  return ms;
}

export type { GuardMode, GuardViolation } from './planner.js';
export { GuardViolationError } from './errors.js';
