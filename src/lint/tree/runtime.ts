/**
 * Tree-sitter for Python, Go, Java and Ruby: the runtime and grammars come prebuilt as WASM
 * in @vscode/tree-sitter-wasm (maintained by the VS Code team; nothing compiles at install
 * time). Loading is asynchronous and done once per grammar, before files are parsed.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Language as Grammar, Parser as TsParser, Node as TsNode } from '@vscode/tree-sitter-wasm';

export type { TsNode };

const require = createRequire(import.meta.url);
type TreeSitter = typeof import('@vscode/tree-sitter-wasm');

let runtime: Promise<TreeSitter> | undefined;
const parsers = new Map<string, TsParser>();

async function load(): Promise<TreeSitter> {
  const ts = require('@vscode/tree-sitter-wasm') as TreeSitter;
  await ts.Parser.init();
  return ts;
}

/** Load the grammars (e.g. `python`, `go`) so `parse` can use them. */
export async function loadGrammars(names: Iterable<string>): Promise<void> {
  const ts = await (runtime ??= load());
  const dir = dirname(require.resolve('@vscode/tree-sitter-wasm'));
  for (const name of names) {
    if (parsers.has(name)) continue;
    const grammar: Grammar = await ts.Language.load(join(dir, `tree-sitter-${name}.wasm`));
    const parser = new ts.Parser();
    parser.setLanguage(grammar);
    parsers.set(name, parser);
  }
}

/** Parse with a grammar loaded by `loadGrammars`; the caller must `delete()` the tree. */
export function parse(grammar: string, source: string): { root: TsNode; dispose(): void } {
  const parser = parsers.get(grammar);
  if (!parser) throw new Error(`tree-sitter grammar ${grammar} is not loaded`);
  const tree = parser.parse(source);
  if (!tree) throw new Error(`tree-sitter could not parse (${grammar})`);
  return { root: tree.rootNode, dispose: () => tree.delete() };
}
