/**
 * Redis glob matching (`SCAN … MATCH`, `KEYS`, `PSUBSCRIBE`), byte for byte.
 *
 * A port of `stringmatchlen()` from Redis `util.c`, compiled once into tokens so that the hot
 * path never re-parses the glob. The quirks are Redis's, kept on purpose so that a policy
 * rule selects exactly the keys `redis-cli --scan --pattern` would show:
 *
 * - `?` and classes match one *byte*, not one character (a string glob or key is UTF-8).
 * - `[a-z]` ranges compare bytes as C `char`, which is signed on x86-64 and most builds:
 *   bytes >= 0x80 sort before 0x00, and a reversed range `[z-a]` is the same as `[a-z]`.
 * - A class runs to `]` or to the end of the glob; `[a-]` is a range from `a` to `]`; `[]` is
 *   empty and never matches; `[^` matches any byte.
 * - `\x` matches `x` literally, inside and outside classes; a trailing `\` matches `\`.
 * - A non-empty glob never matches the empty key (`stringmatchlen` does not enter its loop),
 *   except the glob `*` alone, which SCAN and KEYS treat as "every key".
 *
 * Not mirrored: recent Redis releases give up (no match) on globs whose `*`s nest more than
 * 1000 recursions deep; such globs are not useful as policy rules.
 */

const STAR = 0x2a; // *
const QUESTION = 0x3f; // ?
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const CARET = 0x5e; // ^
const BACKSLASH = 0x5c; // \
const DASH = 0x2d; // -

/** One compiled glob element. A class is a 256-entry membership table (already negated). */
export type GlobToken = { kind: 'byte'; byte: number } | { kind: 'any' } | { kind: 'class'; set: Uint8Array } | { kind: 'star' };

/** Bytes as C `char` on x86-64: 0x80..0xff are negative. Used only for class ranges. */
const signed = (b: number): number => (b > 127 ? b - 256 : b);

const toBytes = (value: Buffer | string): Buffer => (typeof value === 'string' ? Buffer.from(value, 'utf8') : value);

/** Tokenize a glob exactly as `stringmatchlen` walks it (the walk never depends on the key). */
export function tokenizeGlob(glob: Buffer | string): GlobToken[] {
  const p = toBytes(glob);
  const tokens: GlobToken[] = [];
  let i = 0;
  while (i < p.length) {
    const c = p[i];
    if (c === STAR) {
      // Consecutive stars are one star.
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
      i++;
    } else if (c === QUESTION) {
      tokens.push({ kind: 'any' });
      i++;
    } else if (c === OPEN) {
      i = parseClass(p, i + 1, tokens);
    } else if (c === BACKSLASH && i + 1 < p.length) {
      tokens.push({ kind: 'byte', byte: p[i + 1] });
      i += 2;
    } else {
      tokens.push({ kind: 'byte', byte: c });
      i++;
    }
  }
  return tokens;
}

/** Parse a class starting just after `[`; returns the index just after the class. */
function parseClass(p: Buffer, start: number, tokens: GlobToken[]): number {
  let i = start;
  const negate = p[i] === CARET;
  if (negate) i++;
  const set = new Uint8Array(256);
  for (;;) {
    const left = p.length - i;
    if (left === 0) break; // unterminated: the class runs to the end of the glob
    const c = p[i];
    if (c === BACKSLASH && left >= 2) {
      set[p[i + 1]] = 1;
      i += 2;
    } else if (c === CLOSE) {
      i++;
      break;
    } else if (left >= 3 && p[i + 1] === DASH) {
      let lo = signed(c);
      let hi = signed(p[i + 2]);
      if (lo > hi) [lo, hi] = [hi, lo];
      for (let b = 0; b < 256; b++) if (signed(b) >= lo && signed(b) <= hi) set[b] = 1;
      i += 3;
    } else {
      set[c] = 1;
      i++;
    }
  }
  if (negate) for (let b = 0; b < 256; b++) set[b] ^= 1;
  tokens.push({ kind: 'class', set });
  return i;
}

/** Standard glob over tokens: a greedy star with one backtrack point is exact and linear in practice. */
function matchTokens(tokens: GlobToken[], key: Buffer): boolean {
  let t = 0;
  let k = 0;
  let starT = -1;
  let starK = 0;
  while (k < key.length) {
    const tok = tokens[t];
    if (tok !== undefined && tok.kind !== 'star' && stepMatches(tok, key[k])) {
      t++;
      k++;
    } else if (tok !== undefined && tok.kind === 'star') {
      starT = t++;
      starK = k;
    } else if (starT >= 0) {
      t = starT + 1;
      k = ++starK;
    } else {
      return false;
    }
  }
  while (t < tokens.length && tokens[t].kind === 'star') t++;
  return t === tokens.length;
}

function stepMatches(tok: GlobToken, byte: number): boolean {
  if (tok.kind === 'byte') return tok.byte === byte;
  if (tok.kind === 'any') return true;
  return tok.kind === 'class' && tok.set[byte] === 1;
}

/** The literal bytes a key must start with to match (everything before the first wildcard). */
export function globPrefix(glob: Buffer | string): Buffer {
  const tokens = tokenizeGlob(glob);
  const bytes: number[] = [];
  for (const tok of tokens) {
    if (tok.kind !== 'byte') break;
    bytes.push(tok.byte);
  }
  return Buffer.from(bytes);
}

/**
 * True if the glob has no wildcard, i.e. matches exactly one key (escapes count as literal:
 * `user\*1` matches only `user*1`).
 */
export function isLiteralGlob(glob: string | Buffer): boolean {
  return tokenizeGlob(glob).every((tok) => tok.kind === 'byte');
}

/** Escape a key so that, as a glob, it matches only itself (`a*b` → `a\*b`). */
export function escapeGlob(key: string): string;
export function escapeGlob(key: Buffer): Buffer;
export function escapeGlob(key: string | Buffer): string | Buffer {
  if (typeof key === 'string') return key.replace(/[*?[\]\\]/g, '\\$&');
  const out: number[] = [];
  for (const b of key) {
    if (b === STAR || b === QUESTION || b === OPEN || b === CLOSE || b === BACKSLASH) out.push(BACKSLASH);
    out.push(b);
  }
  return Buffer.from(out);
}

/**
 * Compile a Redis glob into a predicate over keys.
 *
 * Matching is on bytes: a Buffer key is used as is, a string key is UTF-8 encoded. The common
 * shapes get allocation-free fast paths: `*`, a literal key, `prefix*`, `*suffix`,
 * `prefix*suffix`; a string key with an ASCII-only literal part is compared without encoding.
 * Everything else runs a linear token matcher with one backtrack point.
 */
export function compileGlob(glob: string | Buffer): (key: Buffer | string) => boolean {
  const raw = toBytes(glob);
  // SCAN and KEYS skip matching entirely for the glob `*`, so it also matches the empty key.
  if (raw.length === 1 && raw[0] === STAR) return () => true;
  const tokens = tokenizeGlob(raw);
  if (tokens.length === 0) return (key) => key.length === 0;

  const stars = tokens.filter((tok) => tok.kind === 'star').length;
  const literalOnly = tokens.every((tok) => tok.kind === 'byte' || tok.kind === 'star');
  if (literalOnly && stars <= 1) return compileLiteralShape(tokens);

  return (key) => {
    const bytes = toBytes(key);
    return bytes.length > 0 && matchTokens(tokens, bytes);
  };
}

function bytesAt(key: Buffer, part: Buffer, offset: number): boolean {
  for (let i = 0; i < part.length; i++) if (key[offset + i] !== part[i]) return false;
  return true;
}

/** Globs made of literal bytes and at most one star: `lit`, `pre*`, `*suf`, `pre*suf`, `*`x. */
function compileLiteralShape(tokens: GlobToken[]): (key: Buffer | string) => boolean {
  const starAt = tokens.findIndex((tok) => tok.kind === 'star');
  const bytesOf = (part: GlobToken[]): Buffer => Buffer.from(part.map((tok) => (tok.kind === 'byte' ? tok.byte : 0)));
  const prefix = bytesOf(starAt < 0 ? tokens : tokens.slice(0, starAt));
  const suffix = starAt < 0 ? Buffer.alloc(0) : bytesOf(tokens.slice(starAt + 1));
  const min = prefix.length + suffix.length;
  const ascii = (b: Buffer): string | undefined => (b.every((x) => x < 0x80) ? b.toString('latin1') : undefined);
  const prefixText = ascii(prefix);
  const suffixText = ascii(suffix);

  // Byte loops, not Buffer#compare: for short prefixes the native call costs more than the work.
  const onBytes = (key: Buffer): boolean => {
    if (key.length === 0) return false;
    if (starAt < 0) return key.length === prefix.length && bytesAt(key, prefix, 0);
    return key.length >= min && bytesAt(key, prefix, 0) && bytesAt(key, suffix, key.length - suffix.length);
  };
  if (prefixText === undefined || suffixText === undefined) return (key) => onBytes(toBytes(key));

  // An ASCII byte in UTF-8 only ever encodes that same character, so comparing UTF-16 text
  // against an ASCII prefix/suffix gives the byte-level answer without encoding the key.
  // If prefix and suffix overlap in characters, every character of the key is ASCII, so the
  // character length equals the byte length and the overlap check is exact.
  //
  // One closure per shape, and String.prototype methods applied to the key rather than looked
  // up on it: V8 resolves `key.startsWith` by the string's representation (flat, concatenated,
  // sliced, internalized), and once an application has handed over keys of several kinds, as
  // every real one does, each such lookup takes its slow megamorphic path. The guard runs this
  // on every write of a pipeline, where that lookup cost more than the rest of the match.
  // The empty key never matches (a glob of stars only, such as `**`, matches every other key).
  if (starAt < 0) return (key) => (typeof key === 'string' ? key === prefixText : onBytes(key));
  if (prefixText === '' && suffixText === '') return (key) => (typeof key === 'string' ? key !== '' : onBytes(key));
  if (suffixText === '') return (key) => (typeof key === 'string' ? startsWith.call(key, prefixText) : onBytes(key));
  if (prefixText === '') return (key) => (typeof key === 'string' ? endsWith.call(key, suffixText) : onBytes(key));
  return (key) => (typeof key === 'string' ? startsWith.call(key, prefixText) && endsWith.call(key, suffixText) && key.length >= min : onBytes(key));
}

const { startsWith, endsWith } = String.prototype;
