/**
 * The policy file (`keywarden.yml`): its types and the zod schema that validates it.
 *
 * The schema works on the plain value (YAML already turned into JS, or an object handed to
 * the guard). Durations and fractions are parsed here, so every consumer gets milliseconds
 * and fractions; file names and line numbers are added by `load.ts`.
 */
import { z } from 'zod';
import { DURATION_HINT, formatDuration, parseDuration, parseFraction, show } from './duration.js';
import { PolicyError } from '../errors.js';
import { MIN_TTL_MS } from './min-ttl.js';

export const ROLES = ['session', 'cache', 'token', 'counter', 'queue', 'durable'] as const;
/** What a key pattern holds; `durable` keys are meant to live forever and are never given a TTL. */
export type Role = (typeof ROLES)[number];

export interface PolicyRule {
  /** Position in `rules:` (0-based), as in error messages: `rules[1]`. */
  index: number;
  /** Redis glob (MATCH syntax). */
  match: string;
  /** TTL to give matching keys; absent only for `role: durable`. */
  ttlMs?: number;
  role?: Role;
  /** Fraction in [0, 1): TTLs are drawn from (ttl × (1 − jitter), ttl]. See `ttlForRule`. */
  jitter?: number;
  /** 1-based line of the rule in the policy file, when it came from one. */
  line?: number;
}

export interface PolicyAlerts {
  /** Alert when more keys than this have no TTL. */
  noTtlKeys?: number;
  /** Alert when used_memory / maxmemory reaches this fraction (YAML: 0.8 or '80%'). */
  memoryUsedRatio?: number;
  /** Alert when evicted_keys grows. */
  evictions?: boolean;
  /** Alert when a pattern's no-TTL key count grows by at least minIncrease within window (YAML: `window: 15m`). */
  noTtlGrowth?: { window: number; minIncrease: number };
  /** Alert when the forecast time to maxmemory falls below this (YAML: `timeToFull: 6h`). */
  timeToFullMs?: number;
  /** Re-send a firing alert this often (YAML: `repeatInterval: 1h`). */
  repeatIntervalMs?: number;
}

export interface Policy {
  rules: PolicyRule[];
  alerts: PolicyAlerts;
  /** Path of the file it was loaded from, for messages. */
  file?: string;
}

/** Carries our message and hint through zod to the issue mapper. */
function fail(ctx: z.RefinementCtx, message: string, hint: string): typeof z.NEVER {
  ctx.addIssue({ code: z.ZodIssueCode.custom, message, params: { hint } });
  return z.NEVER;
}

function durationField(minMs: number, what: string) {
  return z.unknown().transform((value, ctx) => {
    if (value === null || value === '') return fail(ctx, 'is empty', `give a duration (${DURATION_HINT})`);
    if (typeof value !== 'number' && typeof value !== 'string') {
      return fail(ctx, `${show(value)} is not a duration (${DURATION_HINT})`, `write it as a string or number, e.g. 24h or 3600`);
    }
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (err) {
      return fail(ctx, (err as PolicyError).message, (err as PolicyError).hint);
    }
    if (ms < minMs) {
      const floor = minMs === 1 ? 'greater than 0' : `at least ${formatDuration(minMs)}`;
      return fail(ctx, `${show(value)} is too short: ${what} must be ${floor}`, `write e.g. ${what === 'a key TTL' ? '30s' : '5m'}`);
    }
    return ms;
  });
}

function fractionField(check: (x: number) => boolean, range: string, example: string) {
  return z.unknown().transform((value, ctx) => {
    let x: number;
    try {
      if (typeof value !== 'number' && typeof value !== 'string') throw new Error();
      x = parseFraction(value);
    } catch {
      return fail(ctx, `${show(value)} is not a fraction`, `write a percentage like '${example}' or a number`);
    }
    if (!check(x)) return fail(ctx, `${show(value)} is out of range (${range})`, `write e.g. '${example}'`);
    return x;
  });
}

const role = z.enum(ROLES);

export const ruleSchema = z
  .object({
    match: z.string().min(1, 'is empty'),
    ttl: durationField(MIN_TTL_MS, 'a key TTL').optional(),
    role: role.optional(),
    jitter: fractionField((j) => j >= 0 && j < 1, 'from 0 up to, not including, 100%', '10%').optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const durable = rule.role === 'durable';
    const at = (path: string, message: string, hint: string) =>
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: path ? [path] : [], message, params: { hint } });
    if (durable && rule.ttl !== undefined) {
      at('ttl', 'a durable rule must not have a ttl', 'durable keys are never given a TTL: remove ttl:, or choose another role');
    }
    if (durable && rule.jitter !== undefined) {
      at('jitter', 'a durable rule has no ttl to jitter', 'remove jitter: from this rule');
    }
    if (!durable && rule.ttl === undefined) {
      at('', `no ttl for '${rule.match}'`, 'add ttl: (e.g. ttl: 24h), or role: durable for keys meant to live forever');
    }
  });

export const alertsSchema = z
  .object({
    noTtlKeys: z.number().int('must be a whole number').nonnegative('must be 0 or more'),
    memoryUsedRatio: fractionField((r) => r > 0 && r <= 1, 'above 0, at most 100%', '80%'),
    evictions: z.boolean(),
    noTtlGrowth: z
      .object({
        window: durationField(1, 'a window'),
        minIncrease: z.number().int('must be a whole number').positive('must be 1 or more'),
      })
      .strict(),
    timeToFull: durationField(1, 'a forecast horizon'),
    repeatInterval: durationField(1, 'a repeat interval'),
  })
  .strict()
  .partial();

export const policySchema = z
  .object({
    rules: z.array(ruleSchema).nullish(),
    alerts: alertsSchema.nullish(),
  })
  .strict();

/** The fields a mapping at this path may hold, for "did you mean" hints. */
export function knownFields(path: readonly (string | number)[]): string[] {
  const named = path.filter((seg): seg is string => typeof seg === 'string');
  const last = named.at(-1);
  if (last === 'rules') return Object.keys(ruleSchema.innerType().shape);
  if (last === 'noTtlGrowth') return ['window', 'minIncrease'];
  if (last === 'alerts') return Object.keys(alertsSchema.shape);
  return ['rules', 'alerts'];
}
