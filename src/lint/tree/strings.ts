/**
 * String expressions to globs, shared by the tree-sitter dialects: literal parts are escaped,
 * interpolations and format verbs (`%s`, `{}`, `#{…}`) become `*`.
 */
import { escapeGlob } from '../../policy/index.js';
import type { TsNode } from './runtime.js';

export type Glob = { glob: string; exact: boolean };
export const UNKNOWN: Glob = { glob: '*', exact: false };

/** A literal with holes: each named child is literal text unless its type is in `holes`. */
export function interpolated(node: TsNode, literalTypes: ReadonlySet<string>, holeTypes: ReadonlySet<string>): Glob {
  let glob = '';
  let exact = true;
  for (const child of node.namedChildren) {
    if (!child) continue;
    if (literalTypes.has(child.type)) glob += escapeGlob(child.text);
    else if (holeTypes.has(child.type)) {
      glob += '*';
      exact = false;
    }
  }
  return { glob, exact };
}

/** A printf/format template: `%s`, `%d`, `%v`, `{}`, `{0}`, `{name}` become `*`. */
export function formatTemplate(text: string): Glob {
  const parts = text.split(/%[-+ #0-9.]*[a-zA-Z]|\{[^{}]*\}/);
  return { glob: parts.map((p) => escapeGlob(p.replace(/%%/g, '%'))).join('*'), exact: parts.length === 1 };
}

export const concat = (a: Glob, b: Glob): Glob => ({ glob: a.glob + b.glob, exact: a.exact && b.exact });
