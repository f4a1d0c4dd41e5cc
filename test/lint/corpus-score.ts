/**
 * Scores `keywarden lint` on the labeled corpus (test/lint/corpus): a line ending in
 * `@expect <rule>` must be reported with that rule, no other line may be. Shared by the
 * corpus test and bench/lint.ts, which both print the figures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { lint, type Language } from '../../src/lint/index.js';
import { loadPolicy } from '../../src/policy/index.js';

export const CORPUS = 'test/lint/corpus';
const LABEL = /@expect\s+([a-z-]+)/;

const LANGUAGES: Record<string, Language> = {
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.ts': 'typescript',
  '.tsx': 'typescript',
  '.py': 'python',
  '.go': 'go',
  '.java': 'java',
  '.rb': 'ruby',
};

export interface Score {
  language: Language;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

export async function scoreCorpus(): Promise<{ scores: Score[]; misses: string[]; skipped: string[] }> {
  const policy = await loadPolicy(join(CORPUS, 'keywarden.yml'));
  const { report } = await lint({ paths: [CORPUS], policy });
  const counts = new Map<Language, { tp: number; fp: number; fn: number }>();
  const count = (lang: Language) => counts.get(lang) ?? counts.set(lang, { tp: 0, fp: 0, fn: 0 }).get(lang)!;
  const expected = new Map<string, Language>();
  for (const rel of readdirSync(CORPUS, { recursive: true, encoding: 'utf8' })) {
    const language = LANGUAGES[extname(rel)];
    if (!language) continue;
    const file = join(CORPUS, rel);
    count(language);
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((text, i) => {
        const m = LABEL.exec(text);
        if (m) expected.set(`${file}:${i + 1}:${m[1]}`, language);
      });
  }
  const misses: string[] = [];
  const found = new Set<string>();
  for (const f of report.findings) {
    const id = `${f.file}:${f.line}:${f.rule}`;
    found.add(id);
    if (expected.has(id)) count(f.language).tp++;
    else {
      count(f.language).fp++;
      misses.push(`unexpected ${id}: ${f.message}`);
    }
  }
  for (const [id, language] of expected) {
    if (found.has(id)) continue;
    count(language).fn++;
    misses.push(`missed ${id}`);
  }
  const scores = [...counts].map(([language, c]) => ({ language, ...c, precision: c.tp / Math.max(1, c.tp + c.fp), recall: c.tp / Math.max(1, c.tp + c.fn) }));
  return { scores, misses, skipped: report.filesSkipped.map((s) => `${s.file}: ${s.reason}`) };
}

/** The scores as a table. */
export function scoreTable(scores: Score[]): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(9);
  let out = 'language     labeled  TP  FP  FN  precision  recall\n';
  for (const s of scores)
    out += `${s.language.padEnd(12)} ${String(s.tp + s.fn).padStart(7)} ${String(s.tp).padStart(3)} ${String(s.fp).padStart(3)} ${String(s.fn).padStart(3)}  ${pct(s.precision)} ${pct(s.recall)}\n`;
  return out;
}
