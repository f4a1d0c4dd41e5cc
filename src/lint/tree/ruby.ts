/**
 * Ruby: redis-rb (`Redis.new`, `Redis::Cluster.new`, `$redis` / `@redis` / `REDIS`, keyword
 * options `set(k, v, ex: 60)`, `pipelined do |pipe| … end` and `multi do |tx| … end`).
 */
import { escapeGlob } from '../../policy/index.js';
import { redisLikeName, redisShape, type Binding, type CallParts, type Dialect, type Shape, type TreeReceiver } from './dialect.js';
import type { TsNode } from './runtime.js';
import { concat, UNKNOWN, type Glob } from './strings.js';

const REDIS_RB: TreeReceiver = { client: 'redis-rb' };
const TTL_KEYS = ['ex', 'px', 'exat', 'pxat', 'keepttl'];

function callParts(node: TsNode): CallParts | undefined {
  const method = node.childForFieldName('method');
  const receiver = node.childForFieldName('receiver');
  if (!method || !receiver) return undefined;
  const args: TsNode[] = [];
  const kwargs = new Map<string, TsNode>();
  for (const a of node.childForFieldName('arguments')?.namedChildren ?? []) {
    if (!a || a.type === 'comment') continue;
    if (a.type === 'pair') {
      const k = a.childForFieldName('key');
      const v = a.childForFieldName('value');
      if (k && v) kwargs.set(k.text.replace(/^:|:$/g, ''), v);
    } else args.push(a);
  }
  return { receiver, method: method.text, at: method, args, kwargs, block: node.childForFieldName('block') ?? undefined };
}

function classify(parts: CallParts, _on: TreeReceiver): Shape[] {
  const method = parts.method.toLowerCase().replace(/^mapped_/, '');
  if (method === 'call') {
    const name = parts.args[0] ? symbolOrString(parts.args[0]) : undefined;
    const shape = name !== undefined ? redisShape(name, parts.args.slice(1), parts.args.length > 3 ? 'given' : 'none') : undefined;
    return shape ? [shape] : [];
  }
  const setTtl = TTL_KEYS.some((k) => parts.kwargs.has(k) && parts.kwargs.get(k)?.type !== 'nil') ? 'given' : 'none';
  const shape = redisShape(method, parts.args, setTtl);
  return shape ? [shape] : [];
}

function symbolOrString(node: TsNode): string | undefined {
  if (node.type === 'simple_symbol') return node.text.slice(1);
  if (node.type === 'string' && node.namedChildren.every((c) => c?.type === 'string_content')) return node.namedChildren.map((c) => c!.text).join('');
  return undefined;
}

function glob(node: TsNode, resolve: (name: string) => TsNode | undefined, depth: number): Glob {
  if (depth > 8) return UNKNOWN;
  switch (node.type) {
    case 'string': {
      let out: Glob = { glob: '', exact: true };
      for (const c of node.namedChildren) {
        if (!c) continue;
        if (c.type === 'string_content' || c.type === 'escape_sequence') out = concat(out, { glob: escapeGlob(c.text), exact: true });
        else if (c.type === 'interpolation') out = concat(out, c.namedChildren[0] ? glob(c.namedChildren[0], resolve, depth + 1) : UNKNOWN);
      }
      return out;
    }
    case 'simple_symbol':
      return { glob: escapeGlob(node.text.slice(1)), exact: true };
    case 'integer':
      return { glob: node.text, exact: true };
    case 'binary': {
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (node.childForFieldName('operator')?.text !== '+' || !left || !right) return UNKNOWN;
      return concat(glob(left, resolve, depth + 1), glob(right, resolve, depth + 1));
    }
    case 'identifier':
    case 'constant': {
      const bound = resolve(node.text);
      return bound ? glob(bound, resolve, depth + 1) : UNKNOWN;
    }
    case 'parenthesized_statements':
      return node.namedChildren[0] ? glob(node.namedChildren[0], resolve, depth + 1) : UNKNOWN;
    default:
      return UNKNOWN;
  }
}

function nameOf(node: TsNode): string | undefined {
  if (node.type === 'identifier' || node.type === 'constant') return node.text;
  if (node.type === 'instance_variable' || node.type === 'global_variable' || node.type === 'class_variable') return node.text.replace(/^[@$]+/, '');
  return undefined;
}

function bindings(node: TsNode): Binding[] {
  if (node.type !== 'assignment' && node.type !== 'operator_assignment') return [];
  const left = node.childForFieldName('left');
  const name = left ? nameOf(left) : undefined;
  return name !== undefined ? [{ name, value: node.childForFieldName('right') ?? undefined }] : [];
}

export const ruby: Dialect = {
  language: 'ruby',
  grammar: 'ruby',
  extensions: ['.rb'],
  functionTypes: new Set(['method', 'singleton_method', 'lambda']),
  commentTypes: new Set(['comment']),
  callTypes: new Set(['call']),
  bindingTypes: new Set(['assignment', 'operator_assignment']),
  callParts,
  bindings,
  nameOf,
  created(node) {
    if (node.type !== 'call') return undefined;
    const receiver = node.childForFieldName('receiver')?.text;
    const method = node.childForFieldName('method')?.text;
    return (receiver === 'Redis' || receiver === 'Redis::Cluster') && (method === 'new' || method === 'current') ? REDIS_RB : undefined;
  },
  typed: () => undefined,
  derive(method, on, call) {
    if (method === 'pipelined' || method === 'multi') return { ...on, batch: call.startIndex };
    return undefined;
  },
  constant(node) {
    if (node.type !== 'assignment') return undefined;
    const left = node.childForFieldName('left');
    const right = node.childForFieldName('right');
    return left && (left.type === 'constant' || left.type === 'identifier') && right && (right.type === 'string' || right.type === 'binary')
      ? { name: left.text, value: right }
      : undefined;
  },
  glob,
  classify,
  clientByName: (name) => (redisLikeName(name) ? REDIS_RB : undefined),
  commentText: (node) => node.text.replace(/^#/, ''),
};
