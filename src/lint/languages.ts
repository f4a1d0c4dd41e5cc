/**
 * Front ends by file extension: each turns a file's text into the language-neutral facts the
 * rules read. JavaScript and TypeScript go through oxc-parser (and the ESLint plugin through
 * ESLint's parser); Python, Go, Java and Ruby through tree-sitter, one Dialect each. Adding a
 * language is one dialect and one line here.
 */
import { JS_EXTENSIONS, lintFactsJs } from './js/parse.js';
import type { Dialect } from './tree/dialect.js';
import { extractTree } from './tree/extract.js';
import { go } from './tree/go.js';
import { java } from './tree/java.js';
import { python } from './tree/python.js';
import { ruby } from './tree/ruby.js';
import { loadGrammars } from './tree/runtime.js';
import type { FileFacts } from './types.js';

export type FrontEnd = (file: string, source: string, extension: string) => FileFacts;

const DIALECTS: readonly Dialect[] = [python, go, java, ruby];

export const FRONT_ENDS: ReadonlyMap<string, FrontEnd> = new Map<string, FrontEnd>([
  ...JS_EXTENSIONS.map((ext) => [ext, lintFactsJs] as const),
  ...DIALECTS.flatMap((d) => d.extensions.map((ext) => [ext, (_file: string, source: string) => extractTree(d, source)] as const)),
]);

export const EXTENSIONS: ReadonlySet<string> = new Set(FRONT_ENDS.keys());

/** Load the tree-sitter grammars the given extensions need (once per process). */
export async function prepareFrontEnds(extensions: Iterable<string>): Promise<void> {
  const wanted = new Set(extensions);
  const grammars = DIALECTS.filter((d) => d.extensions.some((e) => wanted.has(e))).map((d) => d.grammar);
  if (grammars.length > 0) await loadGrammars(grammars);
}
