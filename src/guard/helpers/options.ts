/** Option parsing shared by the helpers: durations and fractions as the policy file writes them. */
import { KeywardenError, UsageError } from '../../errors.js';
import { parseDuration, parseFraction } from '../../policy/index.js';

/** A duration: seconds as a number, or a string such as `'500ms'`, `'90s'`, `'1h'`. */
export type Duration = number | string;

/** Milliseconds of a duration option; `min` guards against windows and TTLs too small to mean anything. */
export function durationOption(helper: string, name: string, value: Duration, min = 1): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new UsageError(`${helper}: ${name}: ${(err as KeywardenError).message}`, (err as KeywardenError).hint, { cause: err });
  }
  if (ms < min)
    throw new UsageError(`${helper}: ${name} ${JSON.stringify(value)} is shorter than ${min} ms`, `give ${name} in seconds or as a duration such as '1h'`);
  return ms;
}

/** A fraction in [0, 1) (`0.1` or `'10%'`). */
export function jitterOption(helper: string, value: number | string | undefined): number {
  if (value === undefined) return 0;
  let f: number;
  try {
    f = parseFraction(value);
  } catch (err) {
    throw new UsageError(`${helper}: jitter: ${(err as KeywardenError).message}`, (err as KeywardenError).hint, { cause: err });
  }
  if (!(f >= 0 && f < 1)) throw new UsageError(`${helper}: jitter ${JSON.stringify(value)} is outside [0, 1)`, "write a fraction such as 0.1 or '10%'");
  return f;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
