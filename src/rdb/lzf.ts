/**
 * LZF decompression (liblzf's format, which Redis uses for strings above 20 bytes).
 * The output size is the `ulen` the dump states; it is checked against the input before
 * anything is allocated (see `checkLzfSizes`), and every back reference is bounds-checked.
 */

/** LZF can expand at most ~88× (a 3-byte back reference yields up to 264 bytes). */
const MAX_EXPANSION = 100;

/** Null when the stated sizes are impossible for LZF; otherwise the reason is undefined. */
export function lzfSizesPlausible(clen: number, ulen: number): boolean {
  return clen > 0 && ulen > 0 && ulen <= clen * MAX_EXPANSION;
}

/** Decompress `input` into exactly `ulen` bytes; returns null when the data is corrupt. */
export function lzfDecompress(input: Uint8Array, ulen: number): Buffer | null {
  const out = Buffer.allocUnsafe(ulen);
  let ip = 0;
  let op = 0;
  const inEnd = input.length;
  while (ip < inEnd) {
    let ctrl = input[ip++];
    if (ctrl < 32) {
      ctrl++;
      if (op + ctrl > ulen || ip + ctrl > inEnd) return null;
      for (let i = 0; i < ctrl; i++) out[op++] = input[ip++];
    } else {
      let len = ctrl >> 5;
      if (len === 7) {
        if (ip >= inEnd) return null;
        len += input[ip++];
      }
      if (ip >= inEnd) return null;
      let ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++];
      len += 2;
      if (ref < 0 || op + len > ulen) return null;
      for (let i = 0; i < len; i++) out[op++] = out[ref++];
    }
  }
  return op === ulen ? out : null;
}
