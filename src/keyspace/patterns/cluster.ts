/**
 * Collapsing provisional forms that share a skeleton (the same delimiter runs) into
 * patterns. Each word position is a column. In a cluster of entries:
 * - a column with more than `threshold` distinct values is collapsed to `*` (high
 *   cardinality: user names, queue names, cron job names — ids without digits);
 * - a column holding only weak or glued ids (`1`, `v2`, `user*`, `*`) with at least two
 *   distinct values is merged into their longest common prefix plus `*`;
 * - a column holding a few literals (`wait`, `active` beside job ids) splits the cluster,
 *   one sub-cluster per literal plus one for all the ids, and each is resolved again.
 *
 * Every decision is "more than N distinct values seen", which only grows as keys arrive, so
 * collapsing online (to bound memory) never contradicts what the full keyspace would give:
 * a collapsed entry carries up to N+1 of the values it absorbed (`samples`) so later
 * counts stay exact. That is what makes the result independent of key order.
 */
import { COLLAPSED, ID } from './tokens.js';

/** One provisional form under resolution; `words` is rewritten in place. */
export interface ClusterEntry {
  words: string[];
  /** Per column, distinct raw values absorbed by an earlier collapse (capped). */
  samples: (string[] | undefined)[];
}

/** How many distinct values make a column high-cardinality. */
export interface Thresholds {
  /** For the first word (the namespace): higher, so that 40 top-level prefixes stay apart. */
  first: number;
  rest: number;
}

const WEAK_DIGIT = /^(?:[0-9]|[A-Za-z]{1,5}[0-9])$/;
const SINGLE_LETTER = /^[A-Za-z]$/;
/** Single letters count as ids only once a column holds this many (`b:p` vs `l:b:p` stay). */
const LETTER_FAMILY = 3;

/** Variable by nature: a marker inside, or a weak id (kept literal only while alone). */
function isIdLike(w: string): boolean {
  return w.includes(ID) || w.includes(COLLAPSED) || WEAK_DIGIT.test(w);
}

interface ColumnView {
  distinct: Set<string>;
  collapsed: boolean;
  literals: Set<string>;
  idLike: number;
  /** At least LETTER_FAMILY distinct single letters: they count as ids, not literals. */
  lettersAreIds: boolean;
}

function viewColumn(list: ClusterEntry[], j: number, cap: number): ColumnView {
  const distinct = new Set<string>();
  let collapsed = false;
  const letters = new Set<string>();
  const literals = new Set<string>();
  let idLike = 0;
  for (const e of list) {
    const w = e.words[j];
    if (w.includes(COLLAPSED)) collapsed = true;
    for (const v of e.samples[j] ?? [w]) if (distinct.size <= cap) distinct.add(v);
    if (isIdLike(w)) idLike++;
    else if (SINGLE_LETTER.test(w)) letters.add(w);
    else literals.add(w);
  }
  const lettersAreIds = letters.size >= LETTER_FAMILY;
  if (lettersAreIds) idLike += letters.size;
  else for (const l of letters) literals.add(l);
  return { distinct, collapsed, literals, idLike, lettersAreIds };
}

function keepSamples(list: ClusterEntry[], j: number, distinct: Set<string>): void {
  const samples = [...distinct];
  for (const e of list) e.samples[j] = samples;
}

function commonPrefix(list: ClusterEntry[], j: number): string {
  let prefix: string | undefined;
  for (const e of list) {
    const w = e.words[j];
    const p = w.endsWith(ID) ? w.slice(0, w.indexOf(ID)) : w;
    if (prefix === undefined) prefix = p;
    else {
      let k = 0;
      while (k < prefix.length && k < p.length && prefix.charCodeAt(k) === p.charCodeAt(k)) k++;
      prefix = prefix.slice(0, k);
    }
  }
  // Never cut a UTF-8 sequence in half: drop a trailing partial one.
  return (prefix ?? '').replace(/[\x80-\xff]+$/, '');
}

/** Resolves one cluster; columns in `settled` need no further look. */
function resolve(list: ClusterEntry[], settled: boolean[], t: Thresholds): void {
  for (let j = 0; j < settled.length; j++) {
    if (settled[j]) continue;
    const cap = j === 0 ? t.first : t.rest;
    const col = viewColumn(list, j, cap);
    if (col.collapsed || col.distinct.size > cap) {
      keepSamples(list, j, col.distinct);
      for (const e of list) e.words[j] = COLLAPSED;
      settled[j] = true;
    } else if (col.literals.size === 0) {
      if (col.distinct.size > 1) {
        keepSamples(list, j, col.distinct);
        const merged = commonPrefix(list, j) + ID;
        for (const e of list) e.words[j] = merged;
      }
      settled[j] = true;
    } else if (col.literals.size + (col.idLike > 0 ? 1 : 0) < 2) {
      settled[j] = true;
    } else {
      // Split here; columns further right are judged inside each sub-cluster, so that a
      // column mixing `bull`'s suffixes with `rq`'s ids is never judged as one.
      const parts = new Map<string, ClusterEntry[]>();
      for (const e of list) {
        const w = e.words[j];
        const key = isIdLike(w) || (col.lettersAreIds && SINGLE_LETTER.test(w)) ? ID : w;
        const part = parts.get(key);
        if (part) part.push(e);
        else parts.set(key, [e]);
      }
      for (const part of parts.values()) resolve(part, settled.slice(), t);
      return;
    }
  }
}

/** Resolves entries (at least one) that share one skeleton, rewriting their words in place. */
export function resolveSkeleton(entries: ClusterEntry[], thresholds: Thresholds): void {
  resolve(entries, new Array<boolean>(entries[0].words.length).fill(false), thresholds);
}
