/**
 * Number formatting shared by the human renderers (table, markdown, html).
 */

import { formatCount } from '../../units.js';

/** Sizes, counts and TTLs: the formatters of every output (src/units.ts). */
export { formatBytes, formatCount, formatTtl } from '../../units.js';

/** `1 key`, `2 keys`, `1,500 keys`: a count with its noun, singular for exactly one. */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${formatCount(n)} ${n === 1 ? singular : plural}`;
}

/** 0.8234 → '82%'; tiny non-zero shares show as '<1%'. */
export function formatShare(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  const r = part / whole;
  if (r > 0 && r < 0.01) return '<1%';
  return `${Math.round(r * 100)}%`;
}

/** A fixed-width bar of `width` cells filled in proportion to `ratio`. */
export function bar(ratio: number, width: number): string {
  const cells = Math.round(Math.min(Math.max(ratio, 0), 1) * width * 8);
  const full = Math.floor(cells / 8);
  const partial = cells % 8;
  const blocks = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
  return ('█'.repeat(full) + blocks[partial]).padEnd(width, ' ');
}
