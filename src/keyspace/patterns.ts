/**
 * Key pattern inference: `user:35325:profile` → `user:*:profile`. Pure code, no I/O.
 * Patterns are Redis MATCH globs: literal `*?[]\` are escaped, and every byte that is not
 * text becomes `*`, so a pattern is always printable and always matches its keys.
 */
import { renderGlob } from './patterns/render.js';
import { provisionalForm } from './patterns/tokens.js';

export { createPatternGrouper } from './patterns/grouper.js';
export type { PatternGroup, PatternGrouper, PatternGrouperOptions } from './patterns/grouper.js';

/**
 * Infers the pattern of a single key: splits it on delimiters (`:`, `::`, `{…}` hash tags,
 * `/ . | - _ ~`, non-text bytes), and replaces id-like parts with `*` — integers, hex,
 * UUIDs, ULIDs, base64-like tokens, dates, e-mails, IPs, URLs, JSON. Ids without digits
 * (`user:alice:profile`) need siblings to be recognised: use `createPatternGrouper`.
 *
 * @param key - the key as stored (binary-safe) or as a string (encoded as UTF-8).
 * @returns a Redis MATCH glob; its UTF-8 encoding is the glob's bytes.
 */
export function inferPattern(key: Buffer | string): string {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return renderGlob(provisionalForm(bytes, true));
}
