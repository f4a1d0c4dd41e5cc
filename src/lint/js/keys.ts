/**
 * A JavaScript key expression to a Redis glob: literals stay literal (escaped), template
 * holes and unknown values become `*`, `+` concatenates, and identifiers bound to constants
 * in the same file are followed (`const PREFIX = 'session:'`).
 */
import { escapeGlob } from '../../policy/index.js';
import type { KeyExpr } from '../types.js';
import type { EsNode } from './ast.js';
import { rangeOf } from './ast.js';

/** name → the expression a `const` binds it to, anywhere in the file. */
export type Constants = Map<string, EsNode>;

const MAX_DEPTH = 8;

/** `text`: the value is known to be a string (so `+` on it concatenates rather than adds). */
type Part = { glob: string; exact: boolean; text?: boolean };

function globOf(node: EsNode | undefined, consts: Constants, depth: number): Part {
  if (!node || depth > MAX_DEPTH) return { glob: '*', exact: false };
  switch (node.type) {
    case 'Literal':
    case 'StringLiteral':
    case 'NumericLiteral': {
      const value = node.value;
      if (typeof value === 'string') return { glob: escapeGlob(value), exact: true, text: true };
      return typeof value === 'number' ? { glob: String(value), exact: true } : { glob: '*', exact: false };
    }
    case 'TemplateLiteral': {
      const quasis = node.quasis as EsNode[];
      const expressions = node.expressions as EsNode[];
      let glob = '';
      let exact = true;
      quasis.forEach((q, i) => {
        const value = q.value as { cooked?: string | null; raw: string };
        glob += escapeGlob(value.cooked ?? value.raw);
        if (i < expressions.length) {
          const part = globOf(expressions[i], consts, depth + 1);
          glob += part.glob;
          exact &&= part.exact;
        }
      });
      return { glob, exact, text: true };
    }
    case 'BinaryExpression': {
      if (node.operator !== '+') return { glob: '*', exact: false };
      const left = globOf(node.left as EsNode, consts, depth + 1);
      const right = globOf(node.right as EsNode, consts, depth + 1);
      // `20_000_000 + i` adds numbers: only a string operand makes `+` a concatenation.
      if (!left.text && !right.text) return { glob: '*', exact: false };
      return { glob: left.glob + right.glob, exact: left.exact && right.exact, text: true };
    }
    case 'Identifier': {
      const bound = consts.get(node.name as string);
      return bound ? globOf(bound, consts, depth + 1) : { glob: '*', exact: false };
    }
    case 'TSAsExpression':
    case 'TSNonNullExpression':
    case 'ParenthesizedExpression':
      return globOf(node.expression as EsNode, consts, depth + 1);
    default:
      return { glob: '*', exact: false };
  }
}

/** The key expression of a call argument. */
export function keyExpr(node: EsNode | undefined, source: string, consts: Constants): KeyExpr {
  if (!node) return { text: '', glob: '*', exact: false };
  const [start, end] = rangeOf(node);
  const { glob, exact } = globOf(node, consts, 0);
  return { text: source.slice(start, end).replace(/\s+/g, ''), glob: glob.replace(/\*{2,}/g, '*'), exact };
}
