/**
 * `keywarden lint` as a function: find the code that creates Redis keys that never expire.
 * Returns plain data (the `keywarden.lint` report); the CLI renders it as text, JSON or SARIF.
 */
import { readFileSync } from 'node:fs';
import { extname, relative } from 'node:path';
import { createMatcher, type Policy, type PolicyMatcher } from '../policy/index.js';
import { listSourceFiles } from './files.js';
import { EXTENSIONS, FRONT_ENDS, prepareFrontEnds } from './languages.js';
import { checkFile } from './rules.js';
import { stagedFiles } from './staged.js';
import type { LintFinding, LintReport } from './types.js';

export type { LintFinding, LintReport, RuleId, Language } from './types.js';
export { RULE_IDS } from './types.js';
export { prepareFrontEnds } from './languages.js';

export interface LintOptions {
  /** Files and directories (default `.`). */
  paths?: readonly string[];
  /** Keys under a durable rule are fine; a rule's ttl is the TTL the fix proposes. */
  policy?: Policy;
  /** Only the files and lines staged in git (`git diff --cached`). */
  staged?: boolean;
  cwd?: string;
}

export interface LintResult {
  report: LintReport;
  /** The text of each file with findings, for code frames. */
  sources: Map<string, string>;
}

/**
 * Lint one file's text; `name` is what findings report as their file. For Python, Go, Java
 * and Ruby, `await prepareFrontEnds([extension])` first (it loads the tree-sitter grammar).
 */
export function lintSource(name: string, source: string, matcher?: PolicyMatcher): { findings: LintFinding[]; parseError?: string } {
  const frontEnd = FRONT_ENDS.get(extname(name));
  if (!frontEnd) return { findings: [] };
  const facts = frontEnd(name, source, extname(name));
  if (facts.parseError !== undefined) return { findings: [], parseError: facts.parseError };
  return { findings: checkFile(facts, { file: name, matcher }) };
}

/**
 * Lint files and directories (or the staged change).
 * @throws UsageError for a path that does not exist, or `staged` outside a git work tree.
 */
export async function lint(options: LintOptions = {}): Promise<LintResult> {
  const started = performance.now();
  const cwd = options.cwd ?? process.cwd();
  const matcher = options.policy ? createMatcher(options.policy) : undefined;
  const inputs = options.staged
    ? stagedFiles(EXTENSIONS, cwd).map((f) => ({ name: relative(cwd, f.path), read: () => f.source, lines: f.lines }))
    : listSourceFiles(options.paths?.length ? options.paths : ['.'], EXTENSIONS, cwd).map((f) => ({
        name: f.name,
        read: () => readFileSync(f.path, 'utf8'),
        lines: undefined,
      }));
  await prepareFrontEnds(inputs.map((i) => extname(i.name)));
  const findings: LintFinding[] = [];
  const filesSkipped: LintReport['filesSkipped'] = [];
  const sources = new Map<string, string>();
  for (const input of inputs) {
    const source = input.read();
    const result = lintSource(input.name, source, matcher);
    if (result.parseError !== undefined) filesSkipped.push({ file: input.name, reason: result.parseError });
    const kept = input.lines ? result.findings.filter((f) => touches(f, input.lines)) : result.findings;
    if (kept.length > 0) sources.set(input.name, source);
    findings.push(...kept);
  }
  const report: LintReport = {
    kind: 'keywarden.lint',
    schemaVersion: 1,
    findings,
    filesScanned: inputs.length,
    filesSkipped,
    durationMs: Math.round(performance.now() - started),
  };
  return { report, sources };
}

/** Whether a finding's lines include a changed one. */
function touches(f: LintFinding, lines: Set<number>): boolean {
  for (let l = f.line; l <= f.endLine; l++) if (lines.has(l)) return true;
  return false;
}
