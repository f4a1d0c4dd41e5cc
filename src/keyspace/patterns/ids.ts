/**
 * Recognisers for id-like values that span delimiters (UUIDs, dates, IPs, e-mails, URLs,
 * JSON). They run at the start of every word, before the key is split, because splitting
 * `2001:db8::1` on `:` or `a.b@c.io` on `.` would scatter one value over many segments.
 * All functions work on a key's bytes in place: `s[i, n)` (n is the end of the part of the
 * key that is read, never the end of the buffer, which may hold more of a dump) and return
 * the end index of the match, or -1. They scan bytes: no regex, no string on the hot path.
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

/** The byte at j, or -1 past the end (where a string's charCodeAt gave NaN: no byte class matches). */
const at = (s: Uint8Array, j: number, n: number): number => (j < n ? s[j] : -1);

function runOf(s: Uint8Array, i: number, n: number, pred: (c: number) => boolean, max: number): number {
  let j = i;
  while (j < n && j - i < max && pred(s[j])) j++;
  return j - i;
}

/** 8-4-4-4-12 hex, not glued to further alphanumerics. */
function matchUuid(s: Uint8Array, i: number, n: number): number {
  const groups = [8, 4, 4, 4, 12];
  let j = i;
  for (let g = 0; g < groups.length; g++) {
    if (g > 0) {
      if (at(s, j, n) !== Ch.Dash) return -1;
      j++;
    }
    if (runOf(s, j, n, isHex, groups[g]) !== groups[g]) return -1;
    j += groups[g];
  }
  return j < n && isAlnum(at(s, j, n)) ? -1 : j;
}

/** ISO dates `2025-02-14`, with an optional time (`T08:00:00.123Z`, `+02:00`) that contains colons. */
function matchIsoDate(s: Uint8Array, i: number, n: number): number {
  if (runOf(s, i, n, isDigit, 4) !== 4 || at(s, i + 4, n) !== Ch.Dash) return -1;
  if (runOf(s, i + 5, n, isDigit, 2) !== 2 || at(s, i + 7, n) !== Ch.Dash) return -1;
  if (runOf(s, i + 8, n, isDigit, 2) !== 2) return -1;
  let j = i + 10;
  const sep = at(s, j, n);
  if ((sep === 0x54 || sep === 0x20) && runOf(s, j + 1, n, isDigit, 2) === 2 && at(s, j + 3, n) === Ch.Colon) {
    j += 4;
    while (j < n && (isDigit(at(s, j, n)) || at(s, j, n) === Ch.Colon || at(s, j, n) === Ch.Dot)) j++;
    const tz = at(s, j, n);
    if (tz === 0x5a) j++;
    else if ((tz === 0x2b || tz === Ch.Dash) && runOf(s, j + 1, n, isDigit, 2) === 2) {
      j += 3;
      if (at(s, j, n) === Ch.Colon) j++;
      j += runOf(s, j, n, isDigit, 2);
    }
  }
  return j < n && isAlnum(at(s, j, n)) ? -1 : j;
}

/** Dotted quad with an optional `/cidr`. */
function matchIpv4(s: Uint8Array, i: number, n: number): number {
  let j = i;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (at(s, j, n) !== Ch.Dot) return -1;
      j++;
    }
    const len = runOf(s, j, n, isDigit, 3);
    if (len === 0) return -1;
    j += len;
  }
  if (at(s, j, n) === Ch.Slash && isDigit(at(s, j + 1, n))) j += 1 + runOf(s, j + 1, n, isDigit, 2);
  return j < n && (isAlnum(at(s, j, n)) || at(s, j, n) === Ch.Dot) ? -1 : j;
}

/**
 * IPv6 (`2001:db8::1`, optionally `/56`). Demands `::` or all eight groups plus a digit so
 * that ordinary `a:b:c` keys made of hex-looking words are not mistaken for addresses.
 */
function matchIpv6(s: Uint8Array, i: number, n: number): number {
  let j = i;
  let colons = 0;
  let group = 0;
  let doubled = false;
  let digits = 0;
  while (j < n) {
    const c = at(s, j, n);
    if (c === Ch.Colon) {
      if (at(s, j + 1, n) === Ch.Colon) {
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
  if (at(s, j - 1, n) === Ch.Colon && at(s, j - 2, n) !== Ch.Colon) return -1;
  if (at(s, j, n) === Ch.Slash && isDigit(at(s, j + 1, n))) j += 1 + runOf(s, j + 1, n, isDigit, 3);
  return j < n && isAlnum(at(s, j, n)) ? -1 : j;
}

/** `scheme://…`: a URL swallows the rest of the key, since URLs contain every delimiter. */
function matchUrl(s: Uint8Array, i: number, n: number): number {
  const len = runOf(s, i, n, (c) => isAlnum(c) || c === 0x2b || c === Ch.Dot || c === Ch.Dash, 16);
  if (len < 2 || at(s, i + len, n) !== Ch.Colon || !isUrlSeparator(s, i + len, n)) return -1;
  return n;
}

const isEmailLocal = (c: number): boolean => isAlnum(c) || c === Ch.Dot || c === 0x5f || c === 0x25 || c === 0x2b || c === Ch.Dash;

function matchEmail(s: Uint8Array, i: number, n: number): number {
  const local = runOf(s, i, n, isEmailLocal, 64);
  if (local === 0 || at(s, i + local, n) !== Ch.At) return -1;
  let j = i + local + 1;
  let dots = 0;
  const start = j;
  while (j < n) {
    const c = at(s, j, n);
    if (c === Ch.Dot && j > start && isAlnum(at(s, j + 1, n))) dots++;
    else if (!isAlnum(c) && c !== Ch.Dash) break;
    j++;
  }
  return dots > 0 && isAlpha(at(s, j - 1, n)) ? j : -1;
}

/** `{"…` or `[…` with balanced brackets (strings respected); unbalanced text is not JSON. */
export function matchJson(s: Uint8Array, i: number, n: number): number {
  const open = at(s, i, n);
  const next = at(s, i + 1, n);
  if (open === Ch.LBrace ? next !== Ch.Quote : open !== Ch.LBracket || !(next === Ch.Quote || next === Ch.LBrace || next === Ch.LBracket || isDigit(next))) {
    return -1;
  }
  let depth = 0;
  for (let j = i; j < n; j++) {
    const c = at(s, j, n);
    if (c === Ch.Quote) {
      for (j++; j < n && at(s, j, n) !== Ch.Quote; j++) if (at(s, j, n) === Ch.Backslash) j++;
    } else if (c === Ch.LBrace || c === Ch.LBracket) depth++;
    else if ((c === Ch.RBrace || c === Ch.RBracket) && --depth === 0) return j + 1;
  }
  return -1;
}

/**
 * Which rare recognisers a key needs at all: one scan per key instead of one per word.
 * Bits (no object per key): HINT_EMAIL, HINT_URL.
 */
export type KeyHints = number;
const HINT_EMAIL = 1;
const HINT_URL = 2;

/** `://` at s[i] (a `:`), within s[.., n). */
export function isUrlSeparator(s: Uint8Array, i: number, n: number): boolean {
  return i + 2 < n && s[i + 1] === Ch.Slash && s[i + 2] === Ch.Slash;
}

/** Computes the hints for the key bytes s[start, n). */
export function keyHints(s: Uint8Array, start: number, n: number): KeyHints {
  let hints = 0;
  for (let i = start; i < n; i++) {
    const c = s[i];
    if (c === Ch.At) hints |= HINT_EMAIL;
    else if (c === Ch.Colon && isUrlSeparator(s, i, n)) hints |= HINT_URL;
  }
  return hints;
}

/**
 * Tries the composite recognisers at a word start. Cheap dispatch first (first char, the
 * length of the leading hex run, the char after it) so a plain word like `session` costs a
 * few comparisons and no extra scan.
 */
export function matchCompositeId(s: Uint8Array, i: number, n: number, hints: KeyHints): number {
  const c = at(s, i, n);
  if (c === Ch.LBracket || c === Ch.LBrace) return matchJson(s, i, n);
  if ((hints & HINT_URL) !== 0 && isAlpha(c)) {
    const end = matchUrl(s, i, n);
    if (end > 0) return end;
  }
  if ((hints & HINT_EMAIL) !== 0 && isAlnum(c)) {
    const end = matchEmail(s, i, n);
    if (end > 0) return end;
  }
  if (!isHex(c)) return -1;
  let j = i;
  let allDigits = true;
  while (j < n && j - i < 9 && isHex(at(s, j, n))) {
    if (!isDigit(at(s, j, n))) allDigits = false;
    j++;
  }
  const len = j - i;
  const next = at(s, j, n);
  if (next === Ch.Dash) return len === 8 ? matchUuid(s, i, n) : len === 4 && allDigits ? matchIsoDate(s, i, n) : -1;
  if (next === Ch.Colon) return len <= 4 ? matchIpv6(s, i, n) : -1;
  if (next === Ch.Dot) return len <= 3 && allDigits ? matchIpv4(s, i, n) : -1;
  return -1;
}
