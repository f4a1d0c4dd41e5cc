/**
 * The streaming pattern grouper: one provisional group per distinct provisional form (key
 * with digit-bearing ids replaced), collapsed into patterns at the end, or earlier when the
 * number of provisional groups passes a cap so memory stays bounded on keyspaces with
 * millions of ids that carry no digit.
 */
import { resolveSkeleton, type ClusterEntry, type Thresholds } from './cluster.js';
import { OTHER, renderGlob } from './render.js';
import { COLLAPSED, formPieces, joinTokens, MAX_PIECES, piecesToString, splitTokens } from './tokens.js';

/** One output group: the glob and the accumulator of every key it holds. */
export interface PatternGroup<S> {
  pattern: string;
  stats: S;
  /** Keys bucketed into this group. */
  keys: number;
}

export interface PatternGrouper<S> {
  /**
   * Accumulator for the group of the key key[start, end) (default: the whole Buffer); called
   * once per scanned key, must be fast. The bytes are read in place and not kept (a dump
   * reader hands a slice of its read buffer): a string is made only for a form not seen yet.
   * The returned object is valid until the next call (a later call may merge groups).
   */
  bucket(key: Buffer, start?: number, end?: number): S;
  /**
   * Final groups: merges provisional groups into their collapsed pattern, folds the tail
   * into '(other)'. Sorted by keys (descending), then pattern; '(other)' last. Call once.
   */
  finish(): PatternGroup<S>[];
}

export interface PatternGrouperOptions<S> {
  /** New empty accumulator. */
  create(): S;
  /** Fold one accumulator into another (used when groups collapse). */
  merge(into: S, from: S): void;
  /** Patterns in the final output, '(other)' not counted. Default 200. */
  maxPatterns?: number;
  /** Policy globs win over inference: return the rule's glob for a key, or undefined. */
  fixedPattern?(key: Buffer): string | undefined;
  /** Distinct values that make a word position an id position. Default 32. */
  siblingThreshold?: number;
  /** The same for the first word (the namespace), where constants are many. Default 128. */
  namespaceThreshold?: number;
  /** Provisional groups held before collapsing online. Default 50 000. */
  compactAt?: number;
}

interface Slot<S> {
  stats: S;
  keys: number;
  samples?: (string[] | undefined)[];
}

function unionSamples(a: (string[] | undefined)[], b: (string[] | undefined)[], t: Thresholds): (string[] | undefined)[] {
  let out = a;
  for (let j = 0; j < b.length; j++) {
    const more = b[j];
    const have = out[j];
    const cap = (j === 0 ? t.first : t.rest) + 1;
    // Entries collapsed together share one samples array; a full one needs nothing more.
    if (!more || have === more || (have && have.length >= cap)) continue;
    const set = new Set(have);
    for (const v of more) if (set.size < cap) set.add(v);
    if (out === a) out = a.slice();
    out[j] = [...set];
  }
  return out;
}

/** Collapses every provisional form; returns the merged slots keyed by collapsed form. */
function resolveAll<S>(slots: Map<string, Slot<S>>, t: Thresholds, merge: (into: S, from: S) => void): Map<string, Slot<S>> {
  const skeletons = new Map<string, { delims: string[]; entries: ClusterEntry[]; slots: Slot<S>[] }>();
  for (const [form, slot] of slots) {
    const { delims, words } = splitTokens(form);
    const skeleton = delims.join('\u0103');
    let group = skeletons.get(skeleton);
    if (!group) skeletons.set(skeleton, (group = { delims, entries: [], slots: [] }));
    group.entries.push({ words, samples: slot.samples ?? [] });
    group.slots.push(slot);
  }
  const out = new Map<string, Slot<S>>();
  for (const { delims, entries, slots: members } of skeletons.values()) {
    resolveSkeleton(entries, t);
    entries.forEach((entry, i) => {
      const form = joinTokens({ delims, words: entry.words });
      const slot = members[i];
      const into = out.get(form);
      if (!into) {
        out.set(form, { stats: slot.stats, keys: slot.keys, samples: entry.samples });
        return;
      }
      merge(into.stats, slot.stats);
      into.keys += slot.keys;
      into.samples = unionSamples(into.samples ?? [], entry.samples, t);
    });
  }
  return out;
}

/**
 * Per skeleton, the column sets already collapsed online. A new form that equals a
 * collapsed one outside those columns belongs to it: those columns hold more than the
 * threshold of distinct values, so the full keyspace collapses them too. Lets a flood of
 * ids without digits go straight to its group instead of triggering compaction after
 * compaction.
 */
class CollapsedColumns {
  private readonly masks = new Map<string, number[][]>();

  constructor(forms: Iterable<string>) {
    for (const form of forms) {
      if (!form.includes(COLLAPSED)) continue;
      const { delims, words } = splitTokens(form);
      const mask = words.flatMap((w, j) => (w === COLLAPSED ? [j] : []));
      if (mask.length === 0) continue;
      const skeleton = delims.join('\u0103');
      const list = this.masks.get(skeleton) ?? [];
      if (!list.some((m) => m.join() === mask.join())) list.push(mask);
      this.masks.set(skeleton, list);
    }
  }

  /** Collapsed forms `form` may belong to, most specific first. */
  *candidates(form: string): Generator<string> {
    if (this.masks.size === 0) return;
    const { delims, words } = splitTokens(form);
    const list = this.masks.get(delims.join('\u0103'));
    for (const mask of list ?? []) {
      const replaced = words.slice();
      for (const j of mask) replaced[j] = COLLAPSED;
      yield joinTokens({ delims, words: replaced });
    }
  }
}

/** A form in `slots`, found by the hash of its pieces; `next` chains hash collisions. */
interface Known<S> {
  form: string;
  slot: Slot<S>;
  next: Known<S> | undefined;
}

/** FNV-1a over the chars the pieces spell. */
function hashPieces(key: Uint8Array, pieces: Int32Array, count: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < count; k += 2) {
    const a = pieces[k];
    const b = pieces[k + 1];
    if (a < 0) h = Math.imul(h ^ b, 16777619);
    else for (let i = a; i < b; i++) h = Math.imul(h ^ key[i], 16777619);
  }
  // 30 bits: a small integer (Smi) for V8, which a Map hashes without boxing a number.
  return h & 0x3fffffff;
}

/** True when the pieces spell `form`. */
function samePieces(form: string, key: Uint8Array, pieces: Int32Array, count: number): boolean {
  let j = 0;
  for (let k = 0; k < count; k += 2) {
    const a = pieces[k];
    const b = pieces[k + 1];
    if (a < 0) {
      if (form.charCodeAt(j++) !== b) return false;
    } else {
      if (j + b - a > form.length) return false;
      for (let i = a; i < b; i++) if (form.charCodeAt(j++) !== key[i]) return false;
    }
  }
  return j === form.length;
}

function byKeysThenPattern<S>(a: PatternGroup<S>, b: PatternGroup<S>): number {
  if (a.keys !== b.keys) return b.keys - a.keys;
  return a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0;
}

/**
 * Creates a streaming grouper that infers key patterns, collapses high-cardinality
 * siblings (ids without digits), keeps constants that sit where ids sit apart, and bounds
 * the output to `maxPatterns` plus an explicit '(other)' bucket. The same keyspace in any
 * order gives the same groups; no key is ever dropped.
 */
export function createPatternGrouper<S>(options: PatternGrouperOptions<S>): PatternGrouper<S> {
  const { create, merge } = options;
  const t: Thresholds = { first: options.namespaceThreshold ?? 128, rest: options.siblingThreshold ?? 32 };
  const compactAt = Math.max(16, options.compactAt ?? 50_000);
  const maxPatterns = Math.max(1, options.maxPatterns ?? 200);
  let limit = compactAt;
  let slots = new Map<string, Slot<S>>();
  let collapsed = new CollapsedColumns([]);
  const fixed = new Map<string, Slot<S>>();
  // The forms of `slots` by the hash of their pieces: a key whose form is known costs no
  // string building (the form string is made only for a form not seen yet).
  let known = new Map<number, Known<S>>();
  const pieces = new Int32Array(MAX_PIECES);

  const slotFor = (map: Map<string, Slot<S>>, form: string): Slot<S> => {
    let slot = map.get(form);
    if (slot === undefined) map.set(form, (slot = { stats: create(), keys: 0 }));
    return slot;
  };

  /** A form seen for the first time: maybe part of a collapsed group, maybe time to compact. */
  const newSlot = (raw: string): Slot<S> => {
    let form = raw;
    for (const candidate of collapsed.candidates(raw)) {
      if (slots.has(candidate)) {
        form = candidate;
        break;
      }
    }
    if (slots.size >= limit && !slots.has(form)) {
      slots = resolveAll(slots, t, merge);
      known = new Map();
      collapsed = new CollapsedColumns(slots.keys());
      // Keyspaces with genuinely many patterns must not recompact on every new key.
      limit = Math.max(compactAt, slots.size * 2);
    }
    return slotFor(slots, form);
  };

  return {
    bucket(key: Buffer, start = 0, end = key.length): S {
      const fixedPattern = options.fixedPattern;
      const glob = fixedPattern ? fixedPattern(start === 0 && end === key.length ? key : key.subarray(start, end)) : undefined;
      let slot: Slot<S>;
      if (glob !== undefined) slot = slotFor(fixed, glob);
      else {
        const count = formPieces(key, start, end, false, pieces);
        const h = hashPieces(key, pieces, count);
        let k = known.get(h);
        while (k !== undefined && !samePieces(k.form, key, pieces, count)) k = k.next;
        if (k !== undefined) slot = k.slot;
        else {
          const form = piecesToString(key, pieces, count);
          slot = slots.get(form) ?? newSlot(form);
          // Only forms that are keys of `slots` (not those folded into a collapsed one), so
          // this index stays as bounded as `slots`.
          if (slots.get(form) === slot) known.set(h, { form, slot, next: known.get(h) });
        }
      }
      slot.keys++;
      return slot.stats;
    },

    finish(): PatternGroup<S>[] {
      const byPattern = new Map<string, PatternGroup<S>>();
      const add = (pattern: string, slot: Slot<S>): void => {
        const group = byPattern.get(pattern);
        if (!group) byPattern.set(pattern, { pattern, stats: slot.stats, keys: slot.keys });
        else {
          merge(group.stats, slot.stats);
          group.keys += slot.keys;
        }
      };
      for (const [form, slot] of resolveAll(slots, t, merge)) add(renderGlob(form), slot);
      for (const [glob, slot] of fixed) add(glob, slot);
      const groups = [...byPattern.values()].sort(byKeysThenPattern);
      if (groups.length <= maxPatterns) return groups;
      const other: PatternGroup<S> = { pattern: OTHER, stats: create(), keys: 0 };
      for (const g of groups.slice(maxPatterns)) {
        merge(other.stats, g.stats);
        other.keys += g.keys;
      }
      return [...groups.slice(0, maxPatterns), other];
    },
  };
}
