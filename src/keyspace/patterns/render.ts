/**
 * Rendering an internal (provisional or collapsed) form as a Redis MATCH glob.
 *
 * Two readability rules decide how neighbouring wildcards print, per primary segment
 * (the text between `:` / `{` / `}`):
 * - a segment whose every word is variable prints as one `*` (`welcome-user-58121` → `*`),
 *   absorbing its inner secondary delimiters;
 * - inside a segment, a run of wildcards separated only by the segment's own delimiter is
 *   kept (`template.cache.*.*` — positional fields), while a run glued by any other
 *   delimiter is one value and prints as one `*` (`flask_cache_*_memver`).
 */
import { BINARY, COLLAPSED, ID, isPrimaryDelimiter, splitTokens } from './tokens.js';

/** The name of the bucket that holds the folded long tail; never produced by rendering. */
export const OTHER = '(other)';

/** A word that is entirely variable: ID and COLLAPSED markers only. */
const STAR_WORD = new RegExp(`^[${ID}${COLLAPSED}]+$`);
const isStarWord = (w: string): boolean => STAR_WORD.test(w);

/** Escapes glob metacharacters so the literal matches itself; markers become `*`. */
function escapeText(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === ID || ch === COLLAPSED || ch === BINARY) out += '*';
    else if (ch === '*' || ch === '?' || ch === '[' || ch === ']' || ch === '\\') out += '\\' + ch;
    else out += ch;
  }
  return out;
}

interface Element {
  text: string;
  word: boolean;
  star: boolean;
}

function lastPrimaryIndex(d: string): number {
  for (let i = d.length - 1; i >= 0; i--) if (isPrimaryDelimiter(d[i])) return i;
  return -1;
}

/** A delimiter run up to its last primary delimiter, escaped: the part that ends a segment. */
function primaryPart(d: string): string {
  return escapeText(d.slice(0, lastPrimaryIndex(d) + 1));
}

function segmentElements(delims: string[], words: string[], a: number, b: number, last: boolean): Element[] {
  const rest = delims[a].slice(lastPrimaryIndex(delims[a]) + 1);
  const els: Element[] = [];
  const pushDelim = (text: string): void => {
    if (text !== '') els.push({ text, word: false, star: text.includes(BINARY) });
  };
  pushDelim(rest);
  for (let k = a; k < b; k++) {
    if (k > a) pushDelim(delims[k]);
    els.push({ text: words[k], word: true, star: isStarWord(words[k]) });
  }
  if (last) pushDelim(delims[b]);
  return els;
}

/** Renders runs of wildcard elements, merging those glued by a foreign delimiter. */
function renderRuns(els: Element[], mainDelim: string): string {
  let out = '';
  let i = 0;
  while (i < els.length) {
    if (!els[i].star) {
      out += escapeText(els[i].text);
      i++;
      continue;
    }
    let j = i;
    let positional = els[i].word;
    for (;;) {
      if (j + 1 < els.length && els[j + 1].star) {
        j++;
        positional = false;
      } else if (j + 2 < els.length && !els[j + 1].word && els[j + 2].star) {
        positional &&= els[j + 1].text === mainDelim && els[j + 2].word;
        j += 2;
      } else break;
    }
    if (j === i || positional) for (let k = i; k <= j; k++) out += escapeText(els[k].text);
    else out += '*';
    i = j + 1;
  }
  return out;
}

function renderSegment(delims: string[], words: string[], a: number, b: number, last: boolean): string {
  const keep = primaryPart(delims[a]);
  const allStars = words.slice(a, b).every(isStarWord);
  // After an all-wildcard last segment, keep its trailing primary delimiters (`{*}`).
  if (allStars) return keep + '*' + (last ? primaryPart(delims[b]) : '');
  const els = segmentElements(delims, words, a, b, last);
  const firstDelim = els.find((e) => !e.word && !e.star);
  return keep + renderRuns(els, firstDelim ? firstDelim.text[0] : '');
}

/** Latin1 (one char per byte) to a JS string: literal bytes are always valid UTF-8 here. */
function toDisplay(latin1: string): string {
  return /[\x80-\uffff]/.test(latin1) ? Buffer.from(latin1, 'latin1').toString('utf8') : latin1;
}

/**
 * The MATCH glob for an internal form. Returned as a JS string whose UTF-8 encoding is the
 * glob's bytes (every non-text byte has become `*`, so the literal parts are valid UTF-8).
 */
export function renderGlob(p: string): string {
  const { delims, words } = splitTokens(p);
  const m = words.length;
  let out = '';
  if (m === 0) out = escapeText(delims[0]);
  for (let a = 0; a < m;) {
    let b = a + 1;
    while (b < m && !isPrimaryDelimiter(delims[b])) b++;
    out += renderSegment(delims, words, a, b, b === m);
    a = b;
  }
  if (out === OTHER) out = '\\' + out;
  return toDisplay(out);
}
