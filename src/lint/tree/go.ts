/**
 * Go: go-redis (`redis.NewClient`, `NewClusterClient`, `NewUniversalClient`, typed
 * `*redis.Client` / `redis.Cmdable` / `redis.UniversalClient`; `Pipeline()`, `TxPipeline()`,
 * and `Pipelined` / `TxPipelined` callbacks through their `redis.Pipeliner` parameter). Every
 * command takes a context first. `Set(ctx, k, v, 0)` is go-redis' "no expiration": ttl-zero.
 */
import { escapeGlob } from '../../policy/index.js';
import { redisLikeName, redisShape, type Binding, type CallParts, type Dialect, type Shape, type TreeReceiver } from './dialect.js';
import type { TsNode } from './runtime.js';
import { concat, formatTemplate, UNKNOWN, type Glob } from './strings.js';

const GO_REDIS: TreeReceiver = { client: 'go-redis' };
const ZERO_HINT = 'pass a positive time.Duration (0 means no expiration in go-redis), e.g. 24*time.Hour';

function callParts(node: TsNode): CallParts | undefined {
  const fn = node.childForFieldName('function');
  if (!fn || fn.type !== 'selector_expression') return undefined;
  const field = fn.childForFieldName('field');
  const args = (node.childForFieldName('arguments')?.namedChildren ?? []).filter((a): a is TsNode => !!a && a.type !== 'comment');
  return field ? { receiver: fn.childForFieldName('operand'), method: field.text, at: field, args, kwargs: new Map() } : undefined;
}

const isZero = (n: TsNode | undefined) => n?.type === 'int_literal' && n.text === '0';

function expirationTtl(arg: TsNode | undefined): Shape['ttl'] {
  if (!arg) return 'none';
  return isZero(arg) ? 'zero' : 'given';
}

function classify(parts: CallParts, _on: TreeReceiver): Shape[] {
  // ExpireNX / ExpireXX / ExpireGT / ExpireLT are EXPIRE with an option.
  const method = parts.method.toLowerCase().replace(/^(p?expire(?:at)?)(?:nx|xx|gt|lt)$/, '$1');
  const args = parts.args.slice(1); // the context
  let shape: Shape | undefined;
  if (method === 'set' || method === 'setnx' || method === 'setxx') {
    shape = { command: method.toUpperCase(), ttl: expirationTtl(args[2]), keyArg: args[0], zeroHint: ZERO_HINT };
    if (method !== 'set' && shape.ttl === 'zero') shape = { ...shape, command: 'SETNX' };
  } else if (method === 'setargs') {
    const opts = args[2]?.text ?? '';
    shape = { command: 'SET', ttl: /\b(?:TTL|ExpireAt|KeepTTL)\s*:/.test(opts) ? 'given' : 'none', keyArg: args[0] };
  } else if (method === 'do') {
    const name = args[0] && /string_literal$/.test(args[0].type) ? stringText(args[0]) : undefined;
    shape = name !== undefined ? redisShape(name, args.slice(1), args.length > 3 ? 'given' : 'none') : undefined;
  } else if (method === 'xadd') {
    return [{ command: 'XADD', ttl: /NoMkStream\s*:\s*true/.test(args[0]?.text ?? '') ? 'given' : 'none', keyArg: undefined }];
  } else {
    shape = redisShape(method, args);
  }
  return shape ? [shape] : [];
}

const stringText = (node: TsNode): string =>
  node.type === 'raw_string_literal' ? node.text.slice(1, -1) : node.namedChildren.map((c) => (c ? c.text : '')).join('');

function glob(node: TsNode, resolve: (name: string) => TsNode | undefined, depth: number): Glob {
  if (depth > 8) return UNKNOWN;
  switch (node.type) {
    case 'interpreted_string_literal':
    case 'raw_string_literal':
      return { glob: escapeGlob(stringText(node)), exact: true };
    case 'int_literal':
      return { glob: node.text, exact: true };
    case 'binary_expression': {
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (node.childForFieldName('operator')?.text !== '+' || !left || !right) return UNKNOWN;
      return concat(glob(left, resolve, depth + 1), glob(right, resolve, depth + 1));
    }
    case 'call_expression': {
      // fmt.Sprintf("session:%s", id)
      const fn = node.childForFieldName('function')?.text;
      const first = node.childForFieldName('arguments')?.namedChildren[0];
      if (fn === 'fmt.Sprintf' && first && /string_literal$/.test(first.type)) return formatTemplate(stringText(first));
      return UNKNOWN;
    }
    case 'identifier': {
      const bound = resolve(node.text);
      return bound ? glob(bound, resolve, depth + 1) : UNKNOWN;
    }
    case 'parenthesized_expression':
      return node.namedChildren[0] ? glob(node.namedChildren[0], resolve, depth + 1) : UNKNOWN;
    default:
      return UNKNOWN;
  }
}

function pairs(left: TsNode | null, right: TsNode | null): Binding[] {
  const names = left?.namedChildren ?? [];
  const values = right?.namedChildren ?? [];
  return names.flatMap((n, i) => {
    const name = n ? nameOf(n) : undefined;
    return name !== undefined ? [{ name, value: values[i] ?? undefined }] : [];
  });
}

function bindings(node: TsNode): Binding[] {
  switch (node.type) {
    case 'short_var_declaration':
    case 'assignment_statement':
      return pairs(node.childForFieldName('left'), node.childForFieldName('right'));
    case 'var_spec':
    case 'const_spec':
    case 'parameter_declaration':
    case 'field_declaration': {
      const type = node.childForFieldName('type')?.text;
      const value = node.childForFieldName('value')?.namedChildren[0] ?? undefined;
      return node.childrenForFieldName('name').flatMap((n) => (n ? [{ name: n.text, type, value }] : []));
    }
    case 'keyed_element': {
      // &Service{rdb: redis.NewClient(…)}
      const [key, value] = node.namedChildren;
      const name = key?.namedChildren[0] ?? key;
      return name && value ? [{ name: name.text, value: value.namedChildren[0] ?? value }] : [];
    }
    default:
      return [];
  }
}

function nameOf(node: TsNode): string | undefined {
  if (node.type === 'identifier') return node.text;
  if (node.type === 'selector_expression') return node.childForFieldName('field')?.text;
  return undefined;
}

export const go: Dialect = {
  language: 'go',
  grammar: 'go',
  extensions: ['.go'],
  functionTypes: new Set(['function_declaration', 'method_declaration', 'func_literal']),
  commentTypes: new Set(['comment']),
  callTypes: new Set(['call_expression']),
  bindingTypes: new Set([
    'short_var_declaration',
    'assignment_statement',
    'var_spec',
    'const_spec',
    'parameter_declaration',
    'field_declaration',
    'keyed_element',
  ]),
  callParts,
  bindings,
  nameOf,
  created(node) {
    if (node.type !== 'call_expression') return undefined;
    const fn = node.childForFieldName('function')?.text ?? '';
    return /^redis\.New(?:Client|ClusterClient|UniversalClient|FailoverClient|FailoverClusterClient|Ring)$/.test(fn) ? GO_REDIS : undefined;
  },
  typed(type) {
    if (/\bredis\.(?:Pipeliner|Tx)\b/.test(type)) return { ...GO_REDIS, batch: 0 };
    return /\bredis\.(?:Client|ClusterClient|UniversalClient|Cmdable|Ring|Conn|StatefulCmdable)\b/.test(type) ? GO_REDIS : undefined;
  },
  derive(method, on, call) {
    if (method === 'Pipeline' || method === 'TxPipeline') return { ...on, batch: call.startIndex };
    if (method === 'WithContext' || method === 'Conn') return on;
    return undefined;
  },
  constant(node) {
    if (node.type !== 'const_spec' && node.type !== 'var_spec' && node.type !== 'short_var_declaration') return undefined;
    if (node.type === 'short_var_declaration') {
      const [name] = node.childForFieldName('left')?.namedChildren ?? [];
      const [value] = node.childForFieldName('right')?.namedChildren ?? [];
      return name && value && /string_literal$|binary_expression|call_expression/.test(value.type) ? { name: name.text, value } : undefined;
    }
    const name = node.childForFieldName('name');
    const value = node.childForFieldName('value')?.namedChildren[0];
    return name && value ? { name: name.text, value } : undefined;
  },
  glob,
  classify,
  clientByName: (name) => (redisLikeName(name) || name === 'rdb' ? GO_REDIS : undefined),
  commentText: (node) => node.text.replace(/^\/\/|^\/\*|\*\/$/g, ''),
};
