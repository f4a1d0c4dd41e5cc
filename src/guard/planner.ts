/**
 * The client-independent half of the guard: given a command (name and arguments) and the
 * policy, decide what to do — pass it through, append `PX ms`, follow it with
 * `PEXPIRE key ms NX`, refuse it (strict) or report it (warn). Adapters only translate their
 * library's command objects to and from this; they hold no policy logic.
 */
import type { Policy, PolicyMatcher, PolicyRule } from '../policy/index.js';
import { createMatcher, ttlForRule } from '../policy/index.js';
import { commandInfo, createdKeys, setTtlMode, type Arg, type CreatingCommand } from './commands.js';
import { describeRule, displayKey, GuardViolationError } from './errors.js';

/** How the guard treats a write that would create a key without the TTL its policy asks for. */
export type GuardMode = 'default' | 'strict' | 'warn';

/** A write the guard did not (or could not) give a TTL, reported to `onViolation`. */
export interface GuardViolation {
  /** `missing-ttl`: a creating write without TTL; `script`: EVAL/EVALSHA/FCALL, which cannot be inspected. */
  kind: 'missing-ttl' | 'script';
  /** Command name, upper case. */
  command: string;
  /** The key (absent for scripts). */
  key?: Arg;
  /** The rule that asks for a TTL; undefined when the requirement comes from `defaultTtl`. */
  rule?: PolicyRule;
  /** The TTL the policy asks for, in ms (before jitter). */
  ttlMs?: number;
  /** One line describing the violation (keys escaped). */
  message: string;
}

export interface PlannerOptions {
  mode: GuardMode;
  /** TTL in ms for keys no rule matches; undefined leaves them alone. */
  defaultTtlMs?: number;
  onViolation?: (violation: GuardViolation) => void;
  random?: () => number;
}

/** A TTL the guard must make sure a key gets. */
interface Need {
  key: Arg;
  /** Jittered TTL to apply, ms. */
  ttlMs: number;
  rule: PolicyRule | undefined;
  /** True when the TTL can ride on the command itself (SET … PX). */
  inline: boolean;
}

/** What to change about one command: append arguments, and/or follow it with PEXPIRE … NX. */
export interface CommandAction {
  append?: Arg[];
  /** `[key, ttlMs]` pairs, each sent as `PEXPIRE key ttlMs NX` right after the command. */
  expires?: Array<[Arg, number]>;
}

/**
 * A command as adapters hand it over: ioredis Command objects as they are (`name`, arguments
 * from 0), node-redis queue entries as they are (no `name`: it is `args[0]`, arguments from 1).
 */
export interface PlannedCommand {
  name?: string;
  args: ArrayLike<Arg>;
}

export class GuardPlanner {
  readonly mode: GuardMode;
  readonly #matcher: PolicyMatcher;
  readonly #options: PlannerOptions;
  readonly #warned = new Set<string>();

  constructor(policy: Policy, options: PlannerOptions) {
    this.mode = options.mode;
    this.#matcher = createMatcher(policy);
    this.#options = options;
  }

  /** The rule and jittered TTL for a key, or undefined when it must not get one. */
  ttlFor(key: Arg): { ttlMs: number; rule: PolicyRule | undefined } | undefined {
    const rule = this.#matcher.match(typeof key === 'number' ? String(key) : key);
    if (rule) {
      const ttlMs = ttlForRule(rule, this.#options.random);
      return ttlMs === undefined ? undefined : { ttlMs, rule };
    }
    const fallback = this.#options.defaultTtlMs;
    return fallback === undefined ? undefined : { ttlMs: fallback, rule: undefined };
  }

  /** Creating writes in this command that carry no TTL of their own. Undefined for most commands. */
  #needs(name: string, args: ArrayLike<Arg>, base: number): Need[] | undefined {
    const spec = commandInfo(name).creates;
    if (spec === undefined) return undefined;
    let inline = spec.ttl === 'inline';
    if (inline) {
      const mode = setTtlMode(args, base);
      if (mode === 'sets') return undefined;
      // SET … KEEPTTL keeps an existing TTL but creates a new key without one: EXPIRE NX covers both.
      if (mode === 'keeps') inline = false;
    }
    let needs: Need[] | undefined;
    for (const key of createdKeys(spec, args, base)) {
      const ttl = this.ttlFor(key);
      if (ttl) (needs ??= []).push({ key, ttlMs: ttl.ttlMs, rule: ttl.rule, inline });
    }
    return needs;
  }

  /** Default mode's action for one command, built without intermediate objects (the hot path). */
  #fix(spec: CreatingCommand, args: ArrayLike<Arg>, base: number, covered?: (key: Arg) => boolean): CommandAction | undefined {
    let inline = spec.ttl === 'inline';
    if (inline) {
      const mode = setTtlMode(args, base);
      if (mode === 'sets') return undefined;
      if (mode === 'keeps') inline = false;
    }
    let action: CommandAction | undefined;
    for (const key of createdKeys(spec, args, base)) {
      const ttlMs = this.#ttlMs(key);
      if (ttlMs === undefined || covered?.(key)) continue;
      action ??= {};
      if (inline) action.append = ['PX', String(ttlMs)];
      else (action.expires ??= []).push([key, ttlMs]);
    }
    return action;
  }

  #ttlMs(key: Arg): number | undefined {
    const rule = this.#matcher.match(typeof key === 'number' ? String(key) : key);
    return rule ? ttlForRule(rule, this.#options.random) : this.#options.defaultTtlMs;
  }

  /**
   * Plan one command sent on its own. Default mode returns the action; strict mode throws a
   * GuardViolationError when the write lacks its TTL; warn mode reports and returns undefined.
   */
  single(name: string, args: ArrayLike<Arg>, base: number): CommandAction | undefined {
    const info = commandInfo(name);
    if (this.mode === 'default') return info.creates && this.#fix(info.creates, args, base);
    if (info.isScript) this.#reportScript(name);
    const needs = this.#needs(name, args, base);
    if (needs !== undefined) this.#violate(name, needs[0], needs);
    return undefined;
  }

  /**
   * Plan a pipeline or MULTI. A creating write needs nothing from the guard when a later
   * command in the same batch sets a TTL on the same key (EXPIRE/PEXPIRE/…AT, SETEX, SET … EX):
   * the application's own TTL wins, as it would without the guard. For the others, default
   * mode returns one action per command (undefined where nothing changes), or undefined when
   * nothing in the batch changes; strict mode throws on the first; warn mode reports every one.
   */
  planBatch(commands: readonly PlannedCommand[], base: number): Array<CommandAction | undefined> | undefined {
    let actions: Array<CommandAction | undefined> | undefined;
    let lastTtl: Map<string, number> | undefined | null = null; // computed on the first write that needs a TTL
    let at = 0;
    const coveredLater = (key: Arg): boolean => {
      if (lastTtl === null) lastTtl = lastTtlPositions(commands, base);
      return lastTtl !== undefined && (lastTtl.get(keyId(key)) ?? -1) > at;
    };
    for (let i = 0; i < commands.length; i++) {
      const { args } = commands[i];
      const name = commands[i].name ?? String(args[0]);
      const info = commandInfo(name);
      if (this.mode === 'default') {
        if (info.creates === undefined) continue;
        at = i;
        const action = this.#fix(info.creates, args, base, coveredLater);
        if (action) (actions ??= new Array<CommandAction | undefined>(commands.length))[i] = action;
        continue;
      }
      if (info.isScript) this.#reportScript(name);
      const needs = this.#needs(name, args, base);
      if (needs === undefined) continue;
      if (lastTtl === null) lastTtl = lastTtlPositions(commands, base);
      const positions = lastTtl;
      const uncovered = positions === undefined ? needs : needs.filter((need) => !((positions.get(keyId(need.key)) ?? -1) > i));
      if (uncovered.length > 0) this.#violate(name, uncovered[0], uncovered);
    }
    return actions;
  }

  #violate(name: string, first: Need, all: Need[]): void {
    const command = name.toUpperCase();
    if (this.mode === 'strict') throw new GuardViolationError(command, first.key, first.rule, first.rule?.ttlMs ?? first.ttlMs);
    for (const need of all) {
      const ttlMs = need.rule?.ttlMs ?? need.ttlMs;
      this.#report(`missing-ttl:${need.rule?.index ?? 'default'}`, {
        kind: 'missing-ttl',
        command,
        key: need.key,
        rule: need.rule,
        ttlMs,
        message: `${command} wrote key "${displayKey(need.key)}" without a TTL; ${describeRule(need.rule, ttlMs)} requires one`,
      });
    }
  }

  #reportScript(name: string): void {
    const command = name.toUpperCase();
    this.#report(`script:${command}`, {
      kind: 'script',
      command,
      message: `${command}: keys written by scripts and functions cannot be checked by the guard; set their TTLs inside the script`,
    });
  }

  /** onViolation when given (its errors never break the application's command), else one process warning per rule. */
  #report(dedupe: string, violation: GuardViolation): void {
    const handler = this.#options.onViolation;
    if (handler) {
      try {
        handler(violation);
      } catch (err) {
        process.emitWarning(`keywarden guard: onViolation threw: ${String(err)}`, { code: 'KEYWARDEN_GUARD' });
      }
      return;
    }
    if (this.#warned.has(dedupe)) return;
    this.#warned.add(dedupe);
    process.emitWarning(`keywarden guard: ${violation.message}`, { code: 'KEYWARDEN_GUARD' });
  }
}

/** A key as a map key: its bytes, so a string and a Buffer with the same bytes are the same key. */
function keyId(key: Arg): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number') return String(key);
  const text = key.toString('utf8');
  // Valid UTF-8 maps to the same id as the equal string; other bytes get a distinct id space.
  return Buffer.byteLength(text) === key.length && !text.includes('\ufffd') ? text : `\u0000${key.toString('latin1')}`;
}

/**
 * For each key a command of the batch gives a TTL (EXPIRE family, SETEX, SET … EX), the last
 * position doing so; undefined when the batch sets no TTL at all (the common case: no cost).
 */
function lastTtlPositions(commands: readonly PlannedCommand[], base: number): Map<string, number> | undefined {
  let positions: Map<string, number> | undefined;
  for (let j = 0; j < commands.length; j++) {
    const { args } = commands[j];
    const info = commandInfo(commands[j].name ?? String(args[0]));
    const sets = info.setsTtl || (info.isSet && setTtlMode(args, base) === 'sets');
    const key = args[base];
    if (sets && key !== undefined) (positions ??= new Map()).set(keyId(key), j);
  }
  return positions;
}
