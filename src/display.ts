/**
 * Key names are hostile input: they may hold terminal escape sequences, newlines, NULs or
 * invalid UTF-8. Every human-facing output shows keys through `displayKey`, which keeps
 * printable text and escapes everything else the way redis-cli does (`\x1b`, `\n`).
 */
import { isUtf8 } from 'node:buffer';

const MAX_DISPLAY = 200;

const INVISIBLE = /^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]$/u;

/** Printable, escaped form of a key (or pattern); long names are cut with a byte count. */
export function displayKey(key: Buffer | string, max = MAX_DISPLAY): string {
  const buf = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const text = isUtf8(buf) ? buf.toString('utf8') : undefined;
  let out = '';
  if (text !== undefined) {
    let shown = 0;
    for (const ch of text) {
      if (shown >= max) return `${out}…(+${buf.length - Buffer.byteLength(out)} bytes)`;
      out += escapeChar(ch);
      shown++;
    }
    return out;
  }
  for (let i = 0; i < buf.length; i++) {
    if (i >= max) return `${out}…(+${buf.length - i} bytes)`;
    const b = buf[i];
    out += b >= 0x20 && b < 0x7f ? (b === 0x5c ? '\\\\' : String.fromCharCode(b)) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * Printable form of a pattern (a glob): control and format characters escaped like keys,
 * but backslashes kept as they are, since in a glob they are already escapes.
 */
export function displayPattern(pattern: string): string {
  let out = '';
  for (const ch of pattern) out += ch === '\\' ? ch : escapeChar(ch);
  return out;
}

function escapeChar(ch: string): string {
  const c = ch.codePointAt(0) ?? 0;
  if (ch === '\\') return '\\\\';
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  // Controls (C0, C1, DEL), format characters (bidi overrides and isolates, zero-width
  // spaces and joiners, BOM, soft hyphen, invisible tags), line/paragraph separators and
  // Hangul fillers: anything that is invisible or that can reorder or disguise what is shown.
  if (INVISIBLE.test(ch)) {
    if (c <= 0xff) return `\\x${c.toString(16).padStart(2, '0')}`;
    return c <= 0xffff ? `\\u${c.toString(16).padStart(4, '0')}` : `\\u{${c.toString(16)}}`;
  }
  return ch;
}
