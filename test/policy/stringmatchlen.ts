/**
 * A line-by-line port of Redis `stringmatchlen_impl()` (src/util.c, 7.x) used as the oracle
 * for compileGlob: same pointer walk, same signed-char ranges, same reads of the pattern's
 * NUL terminator. Deliberately unoptimised and unshared with src/ so a bug cannot hide in both.
 */
const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const BACKSLASH = 0x5c;
const DASH = 0x2d;

export function stringmatchlen(pattern: Buffer, key: Buffer): boolean {
  // sds strings are NUL-terminated; C reads that byte in a few places.
  const P = (i: number): number => (i < pattern.length ? pattern[i] : 0);
  const S = (i: number): number => (i < key.length ? key[i] : 0);
  const sc = (b: number): number => (b > 127 ? b - 256 : b);
  let skipLongerMatches = false;

  function impl(p: number, plen: number, s: number, slen: number): boolean {
    while (plen && slen) {
      const c = P(p);
      if (c === STAR) {
        while (plen && P(p + 1) === STAR) {
          p++;
          plen--;
        }
        if (plen === 1) return true;
        while (slen) {
          if (impl(p + 1, plen - 1, s, slen)) return true;
          if (skipLongerMatches) return false;
          s++;
          slen--;
        }
        skipLongerMatches = true;
        return false;
      } else if (c === QUESTION) {
        s++;
        slen--;
      } else if (c === OPEN) {
        p++;
        plen--;
        const not = P(p) === CARET;
        if (not) {
          p++;
          plen--;
        }
        let match = false;
        for (;;) {
          if (P(p) === BACKSLASH && plen >= 2) {
            p++;
            plen--;
            if (P(p) === S(s)) match = true;
          } else if (P(p) === CLOSE) {
            break;
          } else if (plen === 0) {
            p--;
            plen++;
            break;
          } else if (plen >= 3 && P(p + 1) === DASH) {
            let start = sc(P(p));
            let end = sc(P(p + 2));
            const ch = sc(S(s));
            if (start > end) [start, end] = [end, start];
            p += 2;
            plen -= 2;
            if (ch >= start && ch <= end) match = true;
          } else if (P(p) === S(s)) {
            match = true;
          }
          p++;
          plen--;
        }
        if (not) match = !match;
        if (!match) return false;
        s++;
        slen--;
      } else {
        if (c === BACKSLASH && plen >= 2) {
          p++;
          plen--;
        }
        if (P(p) !== S(s)) return false;
        s++;
        slen--;
      }
      p++;
      plen--;
      if (slen === 0) {
        while (P(p) === STAR) {
          p++;
          plen--;
        }
        break;
      }
    }
    return plen === 0 && slen === 0;
  }
  return impl(0, pattern.length, 0, key.length);
}

/** What `SCAN … MATCH glob` returns for a key: the glob `*` alone bypasses matching. */
export function scanMatches(glob: Buffer, key: Buffer): boolean {
  if (glob.length === 1 && glob[0] === STAR) return true;
  return stringmatchlen(glob, key);
}
