/**
 * Parsing JavaScript and TypeScript for the CLI with oxc-parser: a native parser with
 * prebuilt binaries for every platform Node 20 runs on (nothing compiles at install time),
 * which returns an ESTree AST, so the same front end also serves the ESLint plugin.
 */
import { parseSync } from 'oxc-parser';
import type { FileFacts, Language } from '../types.js';
import type { EsNode } from './ast.js';
import { extractJs } from './extract.js';

const LANGUAGE_BY_EXTENSION: Readonly<Record<string, Language>> = {
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.jsx': 'javascript',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.tsx': 'typescript',
};

export const JS_EXTENSIONS = Object.keys(LANGUAGE_BY_EXTENSION);

/** Facts for one JS/TS file; a file that does not parse comes back with `parseError`. */
export function lintFactsJs(file: string, source: string, extension: string): FileFacts {
  const language = LANGUAGE_BY_EXTENSION[extension] ?? 'javascript';
  const result = parseSync(file, source);
  if (result.errors.length > 0) {
    const first = result.errors[0];
    return { language, calls: [], suppressions: [], parseError: first.message };
  }
  return extractJs({ program: result.program as unknown as EsNode, comments: result.comments, source, language });
}
