/**
 * Durations and fractions as operators write them in `keywarden.yml` and on the command line.
 *
 * A duration is `500ms`, `90s`, `30m`, `24h`, `7d`, a compound such as `1h30m`, or plain
 * seconds (`3600` or `"3600"`), because plain seconds is what `EXPIRE` and `redis-cli` use.
 */
import { PolicyError } from '../errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const satisfies Record<string, number>;
type Unit = keyof typeof UNIT_MS;

/** Largest first, so formatDuration picks the shortest exact spelling. */
const UNITS_DESC: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

export const DURATION_HINT = 'use 500ms, 90s, 30m, 24h, 7d or seconds';

const PLAIN_SECONDS = /^\d+(?:\.\d+)?$/;
const COMPOUND = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Parse a duration to milliseconds.
 *
 * Accepts `500ms`, `90s`, `30m`, `24h`, `7d`, compounds (`1h30m`), decimals (`1.5h`), and plain
 * seconds as a number or numeric string. The result is a whole, non-negative number of
 * milliseconds; fields that need a positive value check that themselves.
 *
 * @throws PolicyError naming the bad input, with the accepted forms as the hint.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw notADuration(input);
    return toWholeMs(input * 1000, input);
  }
  if (typeof input !== 'string') throw notADuration(input);
  const text = input.trim();
  if (PLAIN_SECONDS.test(text)) return toWholeMs(Number(text) * 1000, input);
  if (!COMPOUND.test(text)) throw notADuration(input);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit as Unit];
  return toWholeMs(total, input);
}

/**
 * Format milliseconds with the largest unit that represents them exactly:
 * `90000 → '90s'`, `1500 → '1500ms'`, `604800000 → '7d'`, `0 → '0s'`. One day prints as
 * `'24h'`, the way session TTLs are written in policies and in the docs (`172800000 → '2d'`).
 * The output always parses back to the same value with {@link parseDuration}.
 */
export function formatDuration(ms: number): string {
  const whole = Math.round(ms);
  if (whole === 0) return '0s';
  const sign = whole < 0 ? '-' : '';
  const abs = Math.abs(whole);
  for (const unit of UNITS_DESC) {
    if (unit === 'd' && abs === UNIT_MS.d) continue;
    if (abs % UNIT_MS[unit] === 0) return `${sign}${abs / UNIT_MS[unit]}${unit}`;
  }
  return `${sign}${abs}ms`;
}

/**
 * Parse a fraction written as a percentage (`'10%'`) or a number (`0.1`, `'0.1'`).
 * Range checks belong to the caller (jitter wants `[0, 1)`, a memory ratio `(0, 1]`).
 *
 * @throws PolicyError when the input is neither.
 */
export function parseFraction(input: string | number): number {
  if (typeof input === 'number' && Number.isFinite(input)) return input;
  if (typeof input === 'string') {
    const text = input.trim();
    const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
    if (percent) return Number(percent[1]) / 100;
    if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text);
  }
  throw new PolicyError(`${show(input)} is not a fraction`, "write a percentage like '10%' or a number like 0.1");
}

/** Seconds for `EXPIRE`, rounded up so a positive TTL never becomes `EXPIRE key 0` (which deletes the key). */
export function toExpireSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function toWholeMs(ms: number, input: unknown): number {
  // Sub-millisecond remainders ('0.5ms', '0.0001') cannot be given to PEXPIRE: reject, don't round silently.
  const rounded = Math.round(ms);
  if (Math.abs(ms - rounded) > 1e-6 || !Number.isSafeInteger(rounded)) throw notADuration(input);
  return rounded;
}

function notADuration(input: unknown): PolicyError {
  return new PolicyError(
    `${show(input)} is not a duration (${DURATION_HINT})`,
    `durations look like 500ms, 90s, 30m, 24h, 7d, 1h30m, or plain seconds such as 3600`,
  );
}

/** Quote user input for a message; JSON escaping keeps control bytes out of the terminal. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${JSON.stringify(value).slice(1, -1)}'`;
  if (value === undefined) return 'nothing';
  // YAML's .inf and .nan arrive as numbers JSON cannot show (it would print null).
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
  return JSON.stringify(value) ?? String(value);
}
