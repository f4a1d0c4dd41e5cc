/**
 * What a key gets under one policy rule (or under `defaultTtl`), resolved once per rule rather
 * than once per write: the guard sits on every write of a pipeline, where the raw client spends
 * only a microsecond or two per command.
 *
 * - A rule without jitter gives every write the same TTL, spelled once: all its SETs append the
 *   same string.
 * - A rule with jitter draws a TTL per write (it must vary), and spells it from cached digits:
 *   turning a fresh number into a string costs more than the rest of the guard's work on a
 *   pipelined SET. The whole seconds a rule's jitter can produce are cached as they are drawn
 *   (a bounded range: at most MAX_CACHED_SECONDS strings per rule), the milliseconds come from
 *   one shared table.
 */
import { ttlForRule, type PolicyRule } from '../policy/index.js';

/** `'000'` … `'999'`. */
const MILLIS = Array.from({ length: 1000 }, (_, ms) => String(ms).padStart(3, '0'));

/** The widest jitter range, in whole seconds, whose spellings are cached (64 KiB of slots at most). */
const MAX_CACHED_SECONDS = 16_384;

export class TtlSource {
  /** The rule the TTL comes from; undefined for `defaultTtl`. */
  readonly rule: PolicyRule | undefined;
  /** The TTL without jitter, ms (the rule's ceiling). */
  readonly ttlMs: number;
  /** The TTL spelled once for every SET under a rule without jitter; undefined with jitter. */
  readonly #fixedText: string | undefined;
  readonly #random: (() => number) | undefined;
  /** With jitter: the first whole second of the range, and the spellings of the seconds drawn so far. */
  readonly #firstSecond: number = 0;
  readonly #seconds: Array<string | undefined> | undefined;

  /**
   * @param rule the rule (undefined for `defaultTtl`, which has no jitter)
   * @param ttlMs the TTL before jitter
   * @param random the planner's random source, for jitter
   */
  constructor(rule: PolicyRule | undefined, ttlMs: number, random: (() => number) | undefined) {
    this.rule = rule;
    this.ttlMs = ttlMs;
    this.#random = random;
    const jitter = rule?.jitter ?? 0;
    if (jitter <= 0) {
      this.#fixedText = String(ttlMs);
      return;
    }
    // Seconds from 1 up: below that, the spelling would need no leading digits (and TTLs are >= 1 s).
    this.#firstSecond = Math.max(1, Math.floor((ttlMs * (1 - jitter)) / 1000));
    const span = Math.floor(ttlMs / 1000) - this.#firstSecond + 1;
    if (span <= MAX_CACHED_SECONDS) this.#seconds = new Array<string | undefined>(span);
  }

  /** The TTL for one write, ms: drawn with the rule's jitter, or the fixed one. */
  draw(): number {
    return this.#fixedText === undefined && this.rule !== undefined ? (ttlForRule(this.rule, this.#random) ?? this.ttlMs) : this.ttlMs;
  }

  /** `ms` as a decimal string, equal to `String(ms)`; cheap for the whole milliseconds this rule draws. */
  text(ms: number): string {
    const second = Math.floor(ms / 1000);
    const slot = second - this.#firstSecond;
    const seconds = this.#seconds;
    if (seconds === undefined || slot < 0 || slot >= seconds.length || !Number.isInteger(ms)) return String(ms);
    return (seconds[slot] ??= String(second)) + MILLIS[ms - second * 1000];
  }

  /**
   * The TTL a SET appends after `PX`, as the string sent: the rule's fixed spelling (shared, no
   * allocation), or a TTL drawn for this write when the rule has jitter.
   */
  pxText(): string {
    return this.#fixedText ?? this.text(this.draw());
  }
}
