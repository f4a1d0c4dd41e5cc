import { KeywardenError } from '../errors.js';
import type { PolicyRule } from '../policy/index.js';
import { formatDuration } from '../policy/index.js';
import type { Arg } from './commands.js';

/** Printable form of a key: non-printable bytes escaped, so a key cannot inject terminal sequences. */
export function displayKey(key: Arg): string {
  const text = typeof key === 'number' ? String(key) : Buffer.isBuffer(key) ? key.toString('latin1') : key;
  return JSON.stringify(text).slice(1, -1);
}

/** Human description of the rule a key fell under. */
export function describeRule(rule: PolicyRule | undefined, ttlMs: number | undefined): string {
  if (!rule) return `defaultTtl ${formatDuration(ttlMs ?? 0)} (no rule matches)`;
  const ttl = rule.ttlMs === undefined ? '' : `, ttl ${formatDuration(rule.ttlMs)}`;
  return `rule rules[${rule.index}] (match "${rule.match}"${ttl}${rule.role ? `, role ${rule.role}` : ''})`;
}

/**
 * Strict mode refused a write that would create a key without the TTL its policy requires.
 * Thrown (or rejected) before anything is sent to Redis.
 */
export class GuardViolationError extends KeywardenError {
  /** Command name, upper case. */
  readonly command: string;
  /** The key as the application passed it. */
  readonly key: Arg;
  /** The policy rule that requires a TTL; undefined when the requirement is `defaultTtl`. */
  readonly rule: PolicyRule | undefined;

  constructor(command: string, key: Arg, rule: PolicyRule | undefined, ttlMs: number | undefined) {
    super(
      `keywarden guard (strict): ${command} would write key "${displayKey(key)}" without a TTL; ${describeRule(rule, ttlMs)} requires one`,
      'give the write its TTL (SET … PX, or EXPIRE/PEXPIRE on the key in the same MULTI or pipeline), ' + "or use guard mode 'default' to have the TTL added",
    );
    this.command = command;
    this.key = key;
    this.rule = rule;
  }
}
