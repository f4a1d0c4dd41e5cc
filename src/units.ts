/**
 * Units as people read them, once for every output: terminal table, markdown, doctor findings,
 * alerts, policy comments, the HTML report and the watch dashboard. (Durations as operators
 * write them, in a policy or a flag, are parsed and printed back by policy/duration.ts.)
 *
 * Every function here must stay self-contained (no reference outside its own body): the HTML
 * report and the dashboard run their source text in the browser (`formatBytes.toString()`),
 * so the page and the terminal can never disagree on a size, a count or a time.
 */

/**
 * 1536 → '1.50 KiB', 134400000 → '128.2 MiB', 512 → '512 B'; a negative size (unmeasured) →
 * 'n/a'. Binary multiples, so labelled with their IEC names (KiB, MiB, GiB): what Redis'
 * `used_memory_human` calls "M" is MiB.
 */
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

/** 1234567.8 → '1,234,568'. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A TTL in a report, its two largest units: 3_600_000 → '1h', 90_000 → '1m30s'; negative (none) → 'none'. */
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

/** A time span in a finding's detail line: 5400 → '1h 30m'; 42 → '42s'. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** A time at a glance, in one unit (the dashboard's ages and forecasts): 42_000 → '42 s', 600_000 → '10 min', 2 days → '2.0 days'. */
export function formatRoughDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}

/** Source text defining these functions under their names, for a page that runs them. */
export function unitsSource(): string {
  const units = { formatBytes, formatCount, formatTtl, formatSeconds, formatRoughDuration };
  return Object.entries(units)
    .map(([name, f]) => `const ${name} = ${f.toString()};`)
    .join('\n');
}
