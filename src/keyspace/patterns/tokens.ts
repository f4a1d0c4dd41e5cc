/**
 * Turning a key into its *provisional* form: the key as a latin1 string (one char per byte,
 * so any binary key round-trips) in which id-like words are replaced by markers. Markers
 * are chars above 0xff, so they can never collide with a key byte.
 *
 * Delimiters: `:` `{` `}` are primary (they split segments); `/ . | - _ ~ , ; = & ? # @ +`
 * and space are secondary (they split words inside a segment). A run of bytes that is not
 * text (control bytes, DEL, bytes that are not valid UTF-8, C1 controls) is a delimiter too
 * and is replaced by the BINARY marker, so serialised structs line up whatever their values.
 */
import { isUrlSeparator, keyHints, matchCompositeId, matchJson } from './ids.js';

/** An id-like word, or the variable tail of a glued word (`user1234` → `user` + ID). */
export const ID = '\u0100';
/** A position the grouper collapsed because too many distinct values sit there. */
export const COLLAPSED = '\u0101';
/** A run of non-text bytes: a delimiter that renders as `*`. */
export const BINARY = '\u0102';

const WORD = 0;
const PRIMARY = 1;
const SECONDARY = 2;
const NON_TEXT = 3;
const HIGH = 4;

/** Byte class table: a lookup per byte beats a regex per segment. */
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (c < 0x20 || c === 0x7f) CLASS[c] = NON_TEXT;
  else if (c >= 0x80) CLASS[c] = HIGH;
}
for (const ch of ':{}') CLASS[ch.charCodeAt(0)] = PRIMARY;
for (const ch of '/.|-_~,;=&?#@+ ') CLASS[ch.charCodeAt(0)] = SECONDARY;

/** Length of the valid UTF-8 sequence at s[i] (2–4) within s[.., n), or 0 when the bytes are not text. */
function utf8Length(s: Uint8Array, i: number, n: number): number {
  const b = s[i];
  const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  if (len === 0 || i + len > n) return 0;
  for (let k = 1; k < len; k++) {
    const c = s[i + k];
    if (c < 0x80 || c > 0xbf) return 0;
  }
  // C1 controls (U+0080–U+009F) include CSI: never let them through as text.
  if (b === 0xc2 && s[i + 1] < 0xa0) return 0;
  return len;
}

/** True when char code c is a delimiter of either kind (the BINARY marker included). */
function isDelimiterChar(c: number): boolean {
  return c === 0x102 || (c < 256 && (CLASS[c] === PRIMARY || CLASS[c] === SECONDARY));
}

/** True when a delimiter run splits segments (rather than words inside one). */
export function isPrimaryDelimiter(d: string): boolean {
  for (let i = 0; i < d.length; i++) {
    const c = d.charCodeAt(i);
    if (c < 256 && CLASS[c] === PRIMARY) return true;
  }
  return false;
}

/** Bytes of a key that are read; the rest is a wildcard. */
const MAX_SCANNED = 512;

/** Words longer than this are blobs (serialised objects, base64 payloads), not names. */
const MAX_LITERAL_WORD = 64;

/**
 * Classifies a word of `len` bytes from the counts of its bytes: digits, hex letters (a–f),
 * other letters, capitals, other bytes, and `lead`, the offset of the first byte that is not
 * a letter. Returns -1 when the word is a literal, otherwise the length of its literal prefix
 * before the variable part (0 for a plain id). `strict` (single-key inference) also turns
 * weak ids such as `7` or `v2` into `*`; the grouper keeps them literal until it sees
 * siblings, because `:1:` is usually a version, not an id.
 */
function classifyCounts(
  len: number,
  strict: boolean,
  digits: number,
  hexLetters: number,
  otherLetters: number,
  upper: number,
  others: number,
  lead: number,
): number {
  if (len > MAX_LITERAL_WORD) return 0;
  if (digits === 0) {
    const letters = hexLetters + otherLetters;
    if (others === 0 && otherLetters === 0 && len >= 8 && (upper === 0 || upper === len)) return 0;
    // Random mixed case (base64/base62 tokens) rather than camelCase: many capitals.
    if (len >= 12 && upper >= 3 && letters - upper >= 3 && upper * 4 >= len) return 0;
    return -1;
  }
  if (digits === len) return len === 1 && !strict ? -1 : 0;
  if (!strict && digits === 1 && others === 0 && len <= 6 && lead === len - 1) return -1;
  if (others === 0 && otherLetters === 0) return 0;
  // The letters before `lead` are a glued literal prefix (`user1234` → `user` + ID).
  return lead >= 3 ? lead : 0;
}

/**
 * The provisional form of the key bytes key[start, end) as pieces written to `out` (two ints
 * each): a slice [a, b) of the key's first MAX_SCANNED bytes (indices into `key`) when
 * a >= 0, or the marker char b when a < 0. Returns the number of ints written. Works on the
 * bytes in place (a key in a dump reader's buffer needs no copy and no string): the grouper
 * finds a known form without building its string (see `provisionalForm` for the string).
 */
export function formPieces(key: Uint8Array, start: number, end: number, strict: boolean, out: Int32Array, knownHints = -1): number {
  // Past this many bytes a key is a blob: its tail becomes a wildcard, so a 1 MB key costs
  // no more than a 512-byte one and never yields a 1 MB pattern.
  const s = key;
  const n = end - start > MAX_SCANNED ? start + MAX_SCANNED : end;
  let w = 0;
  let last = start;
  let i = start;
  // The e-mail and URL recognisers run only for keys that hold `@` or `://` (keyHints). Rather
  // than a pass over every key to find out, the form is made without them and made again in
  // the rare key where one of those turns up: every byte is seen by the loops below, either
  // as a delimiter or inside a recognised id (rescanned then), and never inside a word.
  // keyHints then finds that byte, so a key's form is made at most twice.
  const hints = knownHints < 0 ? 0 : knownHints;
  const hinted = knownHints >= 0;
  while (i < n) {
    // Delimiter run (binary bytes included).
    while (i < n) {
      const c = s[i];
      const cls = CLASS[c];
      if (cls === PRIMARY || cls === SECONDARY) {
        if (c === 0x7b && matchJson(s, i, n) > 0) break;
        if (!hinted && (c === 0x40 || (c === 0x3a && isUrlSeparator(s, i, n)))) {
          return formPieces(key, start, end, strict, out, keyHints(s, start, n));
        }
        i++;
      } else if (cls === NON_TEXT || (cls === HIGH && utf8Length(s, i, n) === 0)) {
        w = emit(out, w, last, i, BINARY_CODE);
        while (i < n && (CLASS[s[i]] === NON_TEXT || (CLASS[s[i]] === HIGH && utf8Length(s, i, n) === 0))) i++;
        last = i;
      } else break;
    }
    if (i >= n) break;
    const composite = matchCompositeId(s, i, n, hints);
    if (composite > 0) {
      if (!hinted && holdsHintBytes(s, i, composite, n)) {
        return formPieces(key, start, end, strict, out, keyHints(s, start, n));
      }
      w = emit(out, w, last, i, ID_CODE);
      last = i = composite;
      continue;
    }
    // The word, classified as it is scanned (the counts classifyCounts needs, in the same pass).
    const word = i;
    let digits = 0;
    let hexLetters = 0;
    let otherLetters = 0;
    let upper = 0;
    let others = 0;
    let lead = -1;
    while (i < n) {
      const c = s[i];
      const cls = CLASS[c];
      if (cls === WORD) {
        if (c >= 0x30 && c <= 0x39) {
          digits++;
          if (lead < 0) lead = i - word;
        } else if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) {
          if ((c | 0x20) <= 0x66) hexLetters++;
          else otherLetters++;
          if (c < 0x61) upper++;
        } else {
          others++;
          if (lead < 0) lead = i - word;
        }
        i++;
      } else if (cls === HIGH) {
        // Every byte of a UTF-8 sequence counts as an "other" char.
        const len = utf8Length(s, i, n);
        if (len === 0) break;
        others += len;
        if (lead < 0) lead = i - word;
        i += len;
      } else break;
    }
    const prefix = classifyCounts(i - word, strict, digits, hexLetters, otherLetters, upper, others, lead);
    if (prefix >= 0) {
      w = emit(out, w, last, word + prefix, ID_CODE);
      last = i;
    }
  }
  if (end - start > MAX_SCANNED) return emit(out, w, last, n, ID_CODE);
  if (n > last) {
    out[w++] = last;
    out[w++] = n;
  }
  return w;
}

/** Whether an `@` or a `://` starts in s[from, to) (the bytes of a recognised id). */
function holdsHintBytes(s: Uint8Array, from: number, to: number, n: number): boolean {
  for (let i = from; i < to; i++) if (s[i] === 0x40 || (s[i] === 0x3a && isUrlSeparator(s, i, n))) return true;
  return false;
}

/** Writes the slice [from, to) (when not empty) and a marker at out[w]; returns the new w. */
function emit(out: Int32Array, w: number, from: number, to: number, marker: number): number {
  if (to > from) {
    out[w++] = from;
    out[w++] = to;
  }
  out[w++] = -1;
  out[w++] = marker;
  return w;
}

const ID_CODE = ID.charCodeAt(0);
const BINARY_CODE = BINARY.charCodeAt(0);
/** Ints `formPieces` may write: a slice and a marker per scanned char, and a tail. */
export const MAX_PIECES = 4 * MAX_SCANNED + 8;
const scratch = new Int32Array(MAX_PIECES);

/** The string the pieces spell (key bytes as latin1, one char per byte; markers above 0xff). */
export function piecesToString(key: Buffer, pieces: Int32Array, count: number): string {
  let out = '';
  for (let k = 0; k < count; k += 2) out += pieces[k] < 0 ? String.fromCharCode(pieces[k + 1]) : key.toString('latin1', pieces[k], pieces[k + 1]);
  return out;
}

/**
 * The provisional form of a key: delimiters kept verbatim (as latin1 chars), non-text runs
 * replaced by BINARY, id-like words by ID (keeping a glued literal prefix).
 */
export function provisionalForm(key: Buffer, strict: boolean): string {
  const count = formPieces(key, 0, key.length, strict, scratch);
  return piecesToString(key, scratch, count);
}

/** A provisional form split into its skeleton (delimiter runs) and words. */
export interface Tokens {
  /** delims[0] leads, delims[k] precedes words[k], delims[words.length] trails; inner ones are non-empty. */
  delims: string[];
  words: string[];
}

/** Splits a provisional form (markers included) into delimiter runs and words. */
export function splitTokens(p: string): Tokens {
  const delims: string[] = [];
  const words: string[] = [];
  let i = 0;
  const n = p.length;
  for (;;) {
    const d = i;
    while (i < n && isDelimiterChar(p.charCodeAt(i))) i++;
    delims.push(p.slice(d, i));
    if (i >= n) break;
    const w = i;
    while (i < n && !isDelimiterChar(p.charCodeAt(i))) i++;
    words.push(p.slice(w, i));
  }
  return { delims, words };
}

/** Inverse of splitTokens. */
export function joinTokens(t: Tokens): string {
  let s = t.delims[0];
  for (let k = 0; k < t.words.length; k++) s += t.words[k] + t.delims[k + 1];
  return s;
}
