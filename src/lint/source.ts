/**
 * Language-neutral helpers for front ends: offsets to line/column spans, and the suppression
 * comment `keywarden-ignore-next-line <rule>[,<rule>] -- <reason>`.
 */
import type { Span, Suppression } from './types.js';

/** Offsets (UTF-16 units) to 1-based lines and columns, by binary search over line starts. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo] + 1 };
  }

  span(start: number, end: number): Span {
    const a = this.position(start);
    const b = this.position(end);
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  }
}

const MARKER = 'keywarden-ignore-next-line';

/**
 * A suppression from the text of one comment (without its delimiters), or undefined when the
 * comment is not one. A missing reason is kept as `''`: the rules report it.
 */
export function parseSuppression(comment: string, span: Span): Suppression | undefined {
  const at = comment.indexOf(MARKER);
  if (at === -1) return undefined;
  const rest = comment.slice(at + MARKER.length);
  const dashes = rest.indexOf('--');
  const rulesPart = dashes === -1 ? rest : rest.slice(0, dashes);
  const reason = dashes === -1 ? '' : rest.slice(dashes + 2).trim();
  const rules = rulesPart
    .split(/[\s,]+/)
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  return { line: span.endLine + 1, rules, reason, span };
}
