/**
 * The client-independent half of the guard: given a command (name and arguments) and the
 * policy, decide what to do — pass it through, append `PX ms`, follow it with
 * `PEXPIRE key ms NX`, refuse it (strict) or report it (warn). Adapters only translate their
 * library's command objects to and from this; they hold no policy logic.
 */
import type { Policy, PolicyMatcher, PolicyRule } from '../policy/index.js';
import { createMatcher, ttlForRule } from '../policy/index.js';
import { commandInfo, createdKeys, decidesTtl, setTtlMode, type Arg, type CommandInfo } from './commands.js';
import { describeRule, displayKey, GuardViolationError } from './errors.js';
import { TtlSource } from './ttl-source.js';

/** How the guard treats a write that would create a key without the TTL its policy asks for. */
export type GuardMode = 'default' | 'strict' | 'warn';

/** A write the guard did not (or could not) give a TTL, reported to `onViolation`. */
export interface GuardViolation {
  /**
   * `missing-ttl`: a creating write without TTL; `script`: EVAL/EVALSHA/FCALL, which cannot be
   * inspected; `other-db`: COPY … DB n, whose key is in a database the guard cannot reach.
   */
  kind: 'missing-ttl' | 'script' | 'other-db';
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

/** `[key, ttlMs]` pairs, each sent as `PEXPIRE key ttlMs NX` right after its command. */
export type Expires = Array<[Arg, number]>;

/**
 * What default mode changes about one command: nothing (undefined); a string, the TTL to
 * append as `PX <string>` (SET); or the PEXPIREs to send right after it. A SET never needs
 * both. A plain value rather than an object because adapters ask this for every command of a
 * pipeline, where the raw client spends about a microsecond per command: a SET under a rule
 * without jitter gets the rule's one shared string and allocates nothing.
 */
export type TtlFix = string | Expires | undefined;

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
  /**
   * By rule index: the rule's TtlSource, or undefined when its keys must not get a TTL (durable,
   * no ttl). An array rather than a Map keyed by rule: this lookup runs on every write.
   */
  readonly #sources: Array<TtlSource | undefined> = [];
  readonly #fallback: TtlSource | undefined;

  constructor(policy: Policy, options: PlannerOptions) {
    this.mode = options.mode;
    this.#matcher = createMatcher(policy);
    this.#options = options;
    for (const rule of policy.rules) {
      // The TTL before jitter (a random source of 0 draws none).
      const ttlMs = ttlForRule(rule, () => 0);
      this.#sources[rule.index] = ttlMs === undefined ? undefined : new TtlSource(rule, ttlMs, options.random);
    }
    this.#fallback = options.defaultTtlMs === undefined ? undefined : new TtlSource(undefined, options.defaultTtlMs, undefined);
  }

  /** The TtlSource governing a key: its rule's (first match wins), else defaultTtl's; undefined when it gets no TTL. */
  #sourceFor(key: Arg): TtlSource | undefined {
    const rule = this.#matcher.match(typeof key === 'number' ? String(key) : key);
    return rule === undefined ? this.#fallback : this.#sources[rule.index];
  }

  /** The rule and jittered TTL for a key, or undefined when it must not get one. */
  ttlFor(key: Arg): { ttlMs: number; rule: PolicyRule | undefined } | undefined {
    const source = this.#sourceFor(key);
    return source === undefined ? undefined : { ttlMs: source.draw(), rule: source.rule };
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
    const created = createdKeys(spec, args, base);
    for (const key of 'otherDb' in created ? [created.otherDb] : created) {
      const ttl = this.ttlFor(key);
      if (ttl) (needs ??= []).push({ key, ttlMs: ttl.ttlMs, rule: ttl.rule, inline });
    }
    return needs;
  }

  /**
   * Default mode's fix for one command: the hot path, so a single-key write reads its key in
   * place, and a SET under a rule without jitter returns the rule's shared `PX` string.
   */
  #fix(info: CommandInfo, args: ArrayLike<Arg>, base: number): TtlFix {
    const spec = info.creates;
    if (spec === undefined) return undefined;
    let inline = spec.ttl === 'inline';
    if (inline) {
      const mode = setTtlMode(args, base);
      if (mode === 'sets') return undefined;
      if (mode === 'keeps') inline = false;
    }
    if (info.keyAt !== undefined) {
      const key = args[base + info.keyAt];
      const source = key === undefined ? undefined : this.#sourceFor(key);
      if (source === undefined) return undefined;
      return inline ? source.pxText() : [[key as Arg, source.draw()]];
    }
    let expires: Expires | undefined;
    const created = createdKeys(spec, args, base);
    if ('otherDb' in created) {
      this.#otherDb(info.lower, created.otherDb);
      return undefined;
    }
    for (const key of created) {
      const source = this.#sourceFor(key);
      if (source !== undefined) (expires ??= []).push([key, source.draw()]);
    }
    return expires;
  }

  /**
   * Plan one command sent on its own. Default mode returns the fix; strict mode throws a
   * GuardViolationError when the write lacks its TTL; warn mode reports and returns undefined.
   */
  single(name: string, args: ArrayLike<Arg>, base: number): TtlFix {
    const info = commandInfo(name);
    if (this.mode === 'default') return this.#fix(info, args, base);
    if (info.isScript) this.#reportScript(name);
    const needs = this.#needs(name, args, base);
    if (needs !== undefined) this.#violate(name, needs[0], needs);
    return undefined;
  }

  /**
   * Default mode's fix for a command already looked up with `commandInfo` (adapters that
   * inspect each command of a batch in one pass call this to avoid a second lookup). Undefined
   * in the other modes, which judge a batch as a whole (`planBatch`).
   */
  fix(info: CommandInfo, args: ArrayLike<Arg>, base: number): TtlFix {
    return this.mode === 'default' ? this.#fix(info, args, base) : undefined;
  }

  /**
   * Plan a pipeline or MULTI. A creating write needs nothing from the guard when a later
   * command in the same batch sets a TTL on the same key (EXPIRE/PEXPIRE/…AT, SETEX, SET … EX):
   * the application's own TTL wins, as it would without the guard. For the others, default
   * mode returns one fix per command (undefined where nothing changes), or undefined when
   * nothing in the batch changes; strict mode throws on the first; warn mode reports every one.
   */
  planBatch(commands: readonly PlannedCommand[], base: number): TtlFix[] | undefined {
    if (this.mode !== 'default') {
      this.#judgeBatch(commands, base);
      return undefined;
    }
    // One pass. TTL-setting commands only matter after a write the guard changes, so a batch of
    // plain writes (or of writes that all carry their TTL) records none of them.
    let actions: TtlFix[] | undefined;
    let setters: number[] | undefined;
    for (let i = 0; i < commands.length; i++) {
      const { args } = commands[i];
      const info = commandInfo(commands[i].name ?? nameOf(args[0]));
      const action = this.#fix(info, args, base);
      if (action !== undefined) (actions ??= new Array<TtlFix>(commands.length))[i] = action;
      else if (actions !== undefined && decidesTtl(info, args, base)) (setters ??= []).push(i);
    }
    return actions && setters ? withoutCovered(commands, base, actions, setters) : actions;
  }

  /** Strict and warn modes: throw on the first uncovered write of the batch, or report each. */
  #judgeBatch(commands: readonly PlannedCommand[], base: number): void {
    let lastTtl: Map<string, number> | undefined | null = null; // computed on the first write that needs a TTL
    for (let i = 0; i < commands.length; i++) {
      const { args } = commands[i];
      const name = commands[i].name ?? String(args[0]);
      if (commandInfo(name).isScript) this.#reportScript(name);
      const needs = this.#needs(name, args, base);
      if (needs === undefined) continue;
      if (lastTtl === null) lastTtl = lastTtlPositions(commands, base);
      const positions = lastTtl;
      const uncovered = positions === undefined ? needs : needs.filter((need) => !((positions.get(keyId(need.key)) ?? -1) > i));
      if (uncovered.length > 0) this.#violate(name, uncovered[0], uncovered);
    }
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

  /**
   * COPY … DB n creates its key in another database: a PEXPIRE here would land on the key of
   * that name in the connection's own database, which the application never wrote. Default mode
   * sends the COPY as it is and reports it when the key's rule asks for a TTL.
   */
  #otherDb(name: string, key: Arg): void {
    const source = this.#sourceFor(key);
    if (source === undefined) return;
    const command = name.toUpperCase();
    const ttlMs = source.rule?.ttlMs ?? source.draw();
    this.#report(`other-db:${source.rule?.index ?? 'default'}`, {
      kind: 'other-db',
      command,
      key,
      rule: source.rule,
      ttlMs,
      message: `${command} … DB wrote key "${displayKey(key)}" in another database, where the guard cannot give it a TTL; ${describeRule(source.rule, ttlMs)} requires one: set it there`,
    });
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

/** A node-redis command name (first argument): a string but for `sendCommand([Buffer, …])`; `String()` only then. */
const nameOf = (arg: Arg | undefined): string => (typeof arg === 'string' ? arg : String(arg));

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
    const key = args[base];
    if (key !== undefined && decidesTtl(commandInfo(commands[j].name ?? String(args[0])), args, base)) (positions ??= new Map()).set(keyId(key), j);
  }
  return positions;
}

/**
 * Drop what the guard would add for keys whose TTL a later command of the batch decides
 * (`setters`: positions of such commands that come after the first action). Changed PEXPIRE
 * lists are rebuilt, never edited.
 */
function withoutCovered(commands: readonly PlannedCommand[], base: number, actions: TtlFix[], setters: readonly number[]): TtlFix[] | undefined {
  const last = new Map<string, number>();
  for (const j of setters) {
    const key = commands[j].args[base];
    if (key !== undefined) last.set(keyId(key), j);
  }
  const coveredAfter = (key: Arg, i: number): boolean => (last.get(keyId(key)) ?? -1) > i;
  let any = false;
  for (let i = 0; i < actions.length; i++) {
    const action = actions[i];
    if (action === undefined) continue;
    if (typeof action === 'string') {
      // Only SET appends, and its key is its first argument.
      if (coveredAfter(commands[i].args[base], i)) actions[i] = undefined;
    } else {
      const expires = action.filter(([key]) => !coveredAfter(key, i));
      actions[i] = expires.length === 0 ? undefined : expires;
    }
    any ||= actions[i] !== undefined;
  }
  return any ? actions : undefined;
}
