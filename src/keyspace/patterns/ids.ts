/**
 * Recognisers for id-like values that span delimiters (UUIDs, dates, IPs, e-mails, URLs,
 * JSON). They run at the start of every word, before the key is split, because splitting
 * `2001:db8::1` on `:` or `a.b@c.io` on `.` would scatter one value over many segments.
 * All functions work on latin1 strings (one char per byte) and return the end index of
 * the match, or -1. They scan char codes: no regex on the hot path.
 */

const enum Ch {
  Dash = 0x2d,
  Dot = 0x2e,
  Slash = 0x2f,
  Colon = 0x3a,
  At = 0x40,
  Quote = 0x22,
  Backslash = 0x5c,
  LBracket = 0x5b,
  RBracket = 0x5d,
  LBrace = 0x7b,
  RBrace = 0x7d,
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
const isAlpha = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);

function runOf(s: string, i: number, pred: (c: number) => boolean, max: number): number {
  let j = i;
  while (j < s.length && j - i < max && pred(s.charCodeAt(j))) j++;
  return j - i;
}

/** 8-4-4-4-12 hex, not glued to further alphanumerics. */
function matchUuid(s: string, i: number): number {
  const groups = [8, 4, 4, 4, 12];
  let j = i;
  for (let g = 0; g < groups.length; g++) {
    if (g > 0) {
      if (s.charCodeAt(j) !== Ch.Dash) return -1;
      j++;
    }
    if (runOf(s, j, isHex, groups[g]) !== groups[g]) return -1;
    j += groups[g];
  }
  return j < s.length && isAlnum(s.charCodeAt(j)) ? -1 : j;
}

/** ISO dates `2025-02-14`, with an optional time (`T08:00:00.123Z`, `+02:00`) that contains colons. */
function matchIsoDate(s: string, i: number): number {
  if (runOf(s, i, isDigit, 4) !== 4 || s.charCodeAt(i + 4) !== Ch.Dash) return -1;
  if (runOf(s, i + 5, isDigit, 2) !== 2 || s.charCodeAt(i + 7) !== Ch.Dash) return -1;
  if (runOf(s, i + 8, isDigit, 2) !== 2) return -1;
  let j = i + 10;
  const sep = s.charCodeAt(j);
  if ((sep === 0x54 || sep === 0x20) && runOf(s, j + 1, isDigit, 2) === 2 && s.charCodeAt(j + 3) === Ch.Colon) {
    j += 4;
    while (j < s.length && (isDigit(s.charCodeAt(j)) || s.charCodeAt(j) === Ch.Colon || s.charCodeAt(j) === Ch.Dot)) j++;
    const tz = s.charCodeAt(j);
    if (tz === 0x5a) j++;
    else if ((tz === 0x2b || tz === Ch.Dash) && runOf(s, j + 1, isDigit, 2) === 2) {
      j += 3;
      if (s.charCodeAt(j) === Ch.Colon) j++;
      j += runOf(s, j, isDigit, 2);
    }
  }
  return j < s.length && isAlnum(s.charCodeAt(j)) ? -1 : j;
}

/** Dotted quad with an optional `/cidr`. */
function matchIpv4(s: string, i: number): number {
  let j = i;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (s.charCodeAt(j) !== Ch.Dot) return -1;
      j++;
    }
    const len = runOf(s, j, isDigit, 3);
    if (len === 0) return -1;
    j += len;
  }
  if (s.charCodeAt(j) === Ch.Slash && isDigit(s.charCodeAt(j + 1))) j += 1 + runOf(s, j + 1, isDigit, 2);
  return j < s.length && (isAlnum(s.charCodeAt(j)) || s.charCodeAt(j) === Ch.Dot) ? -1 : j;
}

/**
 * IPv6 (`2001:db8::1`, optionally `/56`). Demands `::` or all eight groups plus a digit so
 * that ordinary `a:b:c` keys made of hex-looking words are not mistaken for addresses.
 */
function matchIpv6(s: string, i: number): number {
  let j = i;
  let colons = 0;
  let group = 0;
  let doubled = false;
  let digits = 0;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === Ch.Colon) {
      if (s.charCodeAt(j + 1) === Ch.Colon) {
        if (doubled) return -1;
        doubled = true;
        colons++;
        j++;
      }
      colons++;
      group = 0;
    } else if (isHex(c)) {
      if (++group > 4) return -1;
      if (isDigit(c)) digits++;
    } else break;
    j++;
  }
  if (colons > 7 || digits === 0 || (!doubled && colons !== 7) || colons < 2) return -1;
  if (s.charCodeAt(j - 1) === Ch.Colon && s.charCodeAt(j - 2) !== Ch.Colon) return -1;
  if (s.charCodeAt(j) === Ch.Slash && isDigit(s.charCodeAt(j + 1))) j += 1 + runOf(s, j + 1, isDigit, 3);
  return j < s.length && isAlnum(s.charCodeAt(j)) ? -1 : j;
}

/** `scheme://…`: a URL swallows the rest of the key, since URLs contain every delimiter. */
function matchUrl(s: string, i: number): number {
  const len = runOf(s, i, (c) => isAlnum(c) || c === 0x2b || c === Ch.Dot || c === Ch.Dash, 16);
  if (len < 2 || s.charCodeAt(i + len) !== Ch.Colon) return -1;
  if (s.charCodeAt(i + len + 1) !== Ch.Slash || s.charCodeAt(i + len + 2) !== Ch.Slash) return -1;
  return s.length;
}

const isEmailLocal = (c: number): boolean => isAlnum(c) || c === Ch.Dot || c === 0x5f || c === 0x25 || c === 0x2b || c === Ch.Dash;

function matchEmail(s: string, i: number): number {
  const local = runOf(s, i, isEmailLocal, 64);
  if (local === 0 || s.charCodeAt(i + local) !== Ch.At) return -1;
  let j = i + local + 1;
  let dots = 0;
  const start = j;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === Ch.Dot && j > start && isAlnum(s.charCodeAt(j + 1))) dots++;
    else if (!isAlnum(c) && c !== Ch.Dash) break;
    j++;
  }
  return dots > 0 && isAlpha(s.charCodeAt(j - 1)) ? j : -1;
}

/** `{"…` or `[…` with balanced brackets (strings respected); unbalanced text is not JSON. */
export function matchJson(s: string, i: number): number {
  const open = s.charCodeAt(i);
  const next = s.charCodeAt(i + 1);
  if (open === Ch.LBrace ? next !== Ch.Quote : open !== Ch.LBracket || !(next === Ch.Quote || next === Ch.LBrace || next === Ch.LBracket || isDigit(next))) {
    return -1;
  }
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === Ch.Quote) {
      for (j++; j < s.length && s.charCodeAt(j) !== Ch.Quote; j++) if (s.charCodeAt(j) === Ch.Backslash) j++;
    } else if (c === Ch.LBrace || c === Ch.LBracket) depth++;
    else if ((c === Ch.RBrace || c === Ch.RBracket) && --depth === 0) return j + 1;
  }
  return -1;
}

/**
 * Which rare recognisers a key needs at all: one native scan per key instead of one per
 * word. Bits (no object per key): HINT_EMAIL, HINT_URL.
 */
export type KeyHints = number;
export const HINT_EMAIL = 1;
export const HINT_URL = 2;

/** Computes the hints for a latin1 key. */
export function keyHints(s: string): KeyHints {
  return (s.includes('@') ? HINT_EMAIL : 0) | (s.includes('://') ? HINT_URL : 0);
}

/**
 * Tries the composite recognisers at a word start. Cheap dispatch first (first char, the
 * length of the leading hex run, the char after it) so a plain word like `session` costs a
 * few comparisons and no extra scan.
 */
export function matchCompositeId(s: string, i: number, hints: KeyHints): number {
  const c = s.charCodeAt(i);
  if (c === Ch.LBracket || c === Ch.LBrace) return matchJson(s, i);
  if ((hints & HINT_URL) !== 0 && isAlpha(c)) {
    const end = matchUrl(s, i);
    if (end > 0) return end;
  }
  if ((hints & HINT_EMAIL) !== 0 && isAlnum(c)) {
    const end = matchEmail(s, i);
    if (end > 0) return end;
  }
  if (!isHex(c)) return -1;
  let j = i;
  let allDigits = true;
  while (j < s.length && j - i < 9 && isHex(s.charCodeAt(j))) {
    if (!isDigit(s.charCodeAt(j))) allDigits = false;
    j++;
  }
  const len = j - i;
  const next = s.charCodeAt(j);
  if (next === Ch.Dash) return len === 8 ? matchUuid(s, i) : len === 4 && allDigits ? matchIsoDate(s, i) : -1;
  if (next === Ch.Colon) return len <= 4 ? matchIpv6(s, i) : -1;
  if (next === Ch.Dot) return len <= 3 && allDigits ? matchIpv4(s, i) : -1;
  return -1;
}
