/**
 * The few things the JavaScript front end needs from an ESTree node, whichever parser made it:
 * oxc-parser (the CLI) gives `start`/`end`, ESLint's parsers give `range`.
 */
export interface EsNode {
  type: string;
  start?: number;
  end?: number;
  range?: [number, number];
  [field: string]: unknown;
}

export const rangeOf = (node: EsNode): [number, number] => node.range ?? [node.start ?? 0, node.end ?? 0];

/** Drop wrappers that do not change which value an expression is. */
export function unwrap(node: EsNode | undefined): EsNode | undefined {
  let n = node;
  while (
    n &&
    (n.type === 'AwaitExpression' ||
      n.type === 'TSNonNullExpression' ||
      n.type === 'TSAsExpression' ||
      n.type === 'TSSatisfiesExpression' ||
      n.type === 'ParenthesizedExpression' ||
      n.type === 'ChainExpression')
  ) {
    n = (n.type === 'AwaitExpression' ? n.argument : n.expression) as EsNode;
  }
  return n;
}

/** `a.b.c` / `this.redis` as a dotted path, or undefined for anything computed or called. */
export function memberPath(node: EsNode | undefined): string | undefined {
  const n = unwrap(node);
  if (!n) return undefined;
  if (n.type === 'Identifier') return n.name as string;
  if (n.type === 'ThisExpression') return 'this';
  if (n.type === 'MemberExpression' && !n.computed) {
    const head = memberPath(n.object as EsNode);
    const prop = n.property as EsNode;
    return head !== undefined && prop.type === 'Identifier' ? `${head}.${prop.name as string}` : undefined;
  }
  return undefined;
}

/** The name a callee calls: `f` for `f()`, `m` for `x.m()` (non-computed). */
export function calleeName(callee: EsNode): string | undefined {
  const n = unwrap(callee);
  if (!n) return undefined;
  if (n.type === 'Identifier') return n.name as string;
  if (n.type === 'MemberExpression' && !n.computed && (n.property as EsNode).type === 'Identifier') return (n.property as EsNode).name as string;
  return undefined;
}

export const stringValue = (node: EsNode | undefined): string | undefined => {
  const n = unwrap(node);
  if (n && n.type === 'Literal' && typeof n.value === 'string') return n.value;
  if (n && n.type === 'TemplateLiteral' && (n.expressions as EsNode[]).length === 0) {
    const q = (n.quasis as EsNode[])[0].value as { cooked?: string | null; raw: string };
    return q.cooked ?? q.raw;
  }
  return undefined;
};
