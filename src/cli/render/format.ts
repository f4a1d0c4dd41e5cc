/**
 * Number formatting shared by the human renderers (table, markdown, html).
 */

/** Sizes: the one formatter of every output (see src/bytes.ts). */
export { formatBytes } from '../../bytes.js';

/** 1234567 → '1,234,567'. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

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

/** 3_600_000 → '1h', 90_000 → '1m30s' (for TTLs in reports). */
export function formatTtl(ms: number): string {
  if (ms < 0) return 'none';
  const s = Math.round(ms / 1000);
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const shown = parts.filter(([v]) => v > 0).slice(0, 2);
  return shown.length ? shown.map(([v, u]) => `${v}${u}`).join('') : `${ms}ms`;
}
