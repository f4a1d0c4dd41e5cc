/**
 * Numbers as an SRE reads them in a finding's detail line: sizes in binary units (KiB, MiB) like Redis'
 * `_human` INFO fields, percentages, durations.
 */

/** Sizes, counts and time spans: the formatters of every output (src/units.ts). */
export { formatBytes, formatCount, formatSeconds } from '../units.js';

/** 0.913 → "91%". */
export function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** A size for redis.conf / CONFIG SET: whole gigabytes or megabytes ("12gb", "512mb"). */
export function confSize(bytes: number): string {
  const gb = 1024 ** 3;
  if (bytes >= 4 * gb) return `${Math.floor(bytes / gb)}gb`;
  return `${Math.max(1, Math.floor(bytes / 1024 ** 2))}mb`;
}

/**
 * Escape control and bidi characters in text shown to people. Idempotent on `displayKey`
 * output (backslashes are left alone), so it can guard text that is already escaped.
 */
export function safeText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, (ch) => {
    const c = ch.charCodeAt(0);
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (ch === '\t') return '\\t';
    return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  });
}
