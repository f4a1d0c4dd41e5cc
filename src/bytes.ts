/**
 * The one byte formatter of every output: terminal table, markdown, doctor findings, alerts,
 * policy comments, the HTML report and the watch dashboard. Binary multiples, so labelled
 * with their IEC names (KiB, MiB, GiB): what Redis' `used_memory_human` calls "M" is MiB.
 *
 * It must stay self-contained (no reference outside its body): the HTML report and the
 * dashboard run its source text in the browser (`formatBytes.toString()`), so the page and the
 * terminal can never disagree on a size.
 */

/** 1536 → '1.50 KiB', 134400000 → '128.2 MiB', 512 → '512 B'; a negative size (unmeasured) → 'n/a'. */
export function formatBytes(bytes: number): string {
  if (!(bytes >= 0)) return 'n/a';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}
