/**
 * Python: redis-py (sync and asyncio; `Redis`, `StrictRedis`, `RedisCluster`, `from_url`,
 * pipelines, `with r.pipeline() as pipe`) and Django's cache API, where `timeout=None`
 * caches forever (a missing timeout uses the configured default, which expires).
 */
import { escapeGlob } from '../../policy/index.js';
import { redisLikeName, redisShape, type CallParts, type Dialect, type Shape, type TreeReceiver } from './dialect.js';
import type { TsNode } from './runtime.js';
import { concat, formatTemplate, UNKNOWN, type Glob } from './strings.js';

const REDIS_PY: TreeReceiver = { client: 'redis-py' };
const DJANGO: TreeReceiver = { client: 'django-cache', family: 'cache' };
const CONSTRUCTOR = /^(?:(?:redis|aioredis)\.)?(?:asyncio\.)?(?:(?:Strict)?Redis|RedisCluster)(?:\.from_url)?$|^(?:redis|aioredis)(?:\.asyncio)?\.from_url$/;
const TTL_KWARGS = ['ex', 'px', 'exat', 'pxat', 'keepttl'];

function callParts(node: TsNode): CallParts | undefined {
  const fn = node.childForFieldName('function');
  if (!fn || fn.type !== 'attribute') return undefined;
  const name = fn.childForFieldName('attribute');
  const args: TsNode[] = [];
  const kwargs = new Map<string, TsNode>();
  for (const a of node.childForFieldName('arguments')?.namedChildren ?? []) {
    if (!a || a.type === 'comment') continue;
    if (a.type === 'keyword_argument') {
      const k = a.childForFieldName('name');
      const v = a.childForFieldName('value');
      if (k && v) kwargs.set(k.text, v);
    } else args.push(a);
  }
  return name ? { receiver: fn.childForFieldName('object'), method: name.text, at: name, args, kwargs } : undefined;
}

const isNone = (n: TsNode | undefined) => n?.type === 'none';

function cacheShape(parts: CallParts): Shape[] {
  const at = parts.method === 'set_many' ? 1 : 2;
  if (!['set', 'add', 'get_or_set', 'set_many'].includes(parts.method)) return [];
  const timeout = parts.kwargs.get('timeout') ?? parts.args[at];
  const keyArg = parts.method === 'set_many' ? undefined : (parts.args[0] ?? parts.kwargs.get('key'));
  return [
    {
      command: 'SET',
      ttl: isNone(timeout) ? 'zero' : 'given',
      keyArg,
      zeroHint: 'pass a timeout in seconds (None caches forever; leave it out for the default TIMEOUT)',
    },
  ];
}

function classify(parts: CallParts, on: TreeReceiver): Shape[] {
  if (on.family === 'cache') return cacheShape(parts);
  const method = parts.method.toLowerCase();
  if (method === 'execute_command') {
    const name = parts.args[0]?.type === 'string' ? stringText(parts.args[0]) : undefined;
    const shape = name !== undefined ? redisShape(name, parts.args.slice(1), parts.args.length > 3 ? 'given' : 'none') : undefined;
    return shape ? [shape] : [];
  }
  const keyed = parts.args.length > 0 ? parts.args : [parts.kwargs.get('name') ?? parts.kwargs.get('key')].filter((n): n is TsNode => !!n);
  const setTtl = parts.args.length > 2 || TTL_KWARGS.some((k) => parts.kwargs.has(k) && !isNone(parts.kwargs.get(k))) ? 'given' : 'none';
  const shape = redisShape(method, keyed, setTtl);
  return shape ? [shape] : [];
}

function stringText(node: TsNode): string {
  return node.namedChildren
    .filter((c) => c?.type === 'string_content')
    .map((c) => c!.text)
    .join('');
}

const LITERAL = new Set(['string_content', 'escape_sequence']);
const HOLES = new Set(['interpolation']);

function glob(node: TsNode, resolve: (name: string) => TsNode | undefined, depth: number): Glob {
  if (depth > 8) return UNKNOWN;
  switch (node.type) {
    case 'string': {
      // f"{PREFIX}{sid}": holes that name constants are resolved.
      let out: Glob = { glob: '', exact: true };
      for (const c of node.namedChildren) {
        if (!c) continue;
        if (LITERAL.has(c.type)) out = concat(out, { glob: escapeGlob(c.text), exact: true });
        else if (HOLES.has(c.type)) out = concat(out, c.namedChildren[0] ? glob(c.namedChildren[0], resolve, depth + 1) : UNKNOWN);
      }
      return out;
    }
    case 'concatenated_string':
      return node.namedChildren.reduce<Glob>((acc, c) => (c ? concat(acc, glob(c, resolve, depth + 1)) : acc), { glob: '', exact: true });
    case 'integer':
      return { glob: escapeGlob(node.text), exact: true };
    case 'binary_operator': {
      const op = node.childForFieldName('operator')?.text;
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (!left || !right) return UNKNOWN;
      if (op === '+') return concat(glob(left, resolve, depth + 1), glob(right, resolve, depth + 1));
      if (op === '%' && left.type === 'string') return formatTemplate(stringText(left));
      return UNKNOWN;
    }
    case 'call': {
      // "session:{}".format(id)
      const fn = node.childForFieldName('function');
      const obj = fn?.childForFieldName('object');
      if (fn?.type === 'attribute' && fn.childForFieldName('attribute')?.text === 'format' && obj?.type === 'string') return formatTemplate(stringText(obj));
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

function bindings(node: TsNode): ReturnType<Dialect['bindings']> {
  switch (node.type) {
    case 'assignment': {
      const left = node.childForFieldName('left');
      const name = left ? nameOf(left) : undefined;
      const value = node.childForFieldName('right') ?? undefined;
      const type = node.childForFieldName('type')?.text;
      return name !== undefined ? [{ name, value, type }] : [];
    }
    case 'typed_parameter':
    case 'typed_default_parameter': {
      const id = node.type === 'typed_parameter' ? node.namedChildren[0] : node.childForFieldName('name');
      const type = node.childForFieldName('type')?.text;
      return id && id.type === 'identifier' ? [{ name: id.text, type }] : [];
    }
    case 'as_pattern': {
      // with r.pipeline() as pipe:
      const value = node.namedChildren[0];
      const alias = node.childForFieldName('alias');
      const id = alias?.type === 'identifier' ? alias : alias?.namedChildren[0];
      return value && id ? [{ name: id.text, value }] : [];
    }
    case 'import_from_statement': {
      const module = node.childForFieldName('module_name')?.text;
      if (module !== 'django.core.cache') return [];
      return node
        .childrenForFieldName('name')
        .flatMap((n) => (n && (n.text === 'cache' || n.text.endsWith(' as cache')) ? [{ name: 'cache', type: 'django.core.cache' }] : []));
    }
    default:
      return [];
  }
}

function nameOf(node: TsNode): string | undefined {
  if (node.type === 'identifier') return node.text;
  if (node.type === 'attribute') return node.childForFieldName('attribute')?.text;
  return undefined;
}

export const python: Dialect = {
  language: 'python',
  grammar: 'python',
  extensions: ['.py'],
  functionTypes: new Set(['function_definition', 'lambda']),
  commentTypes: new Set(['comment']),
  callTypes: new Set(['call']),
  bindingTypes: new Set(['assignment', 'typed_parameter', 'typed_default_parameter', 'as_pattern', 'import_from_statement']),
  callParts,
  bindings,
  nameOf,
  created(node) {
    if (node.type === 'await') return node.namedChildren[0] ? python.created(node.namedChildren[0]) : undefined;
    if (node.type === 'subscript' && node.childForFieldName('value')?.text === 'caches') return DJANGO;
    if (node.type !== 'call') return undefined;
    const fn = node.childForFieldName('function')?.text ?? '';
    return CONSTRUCTOR.test(fn) ? REDIS_PY : undefined;
  },
  typed(type) {
    if (type === 'django.core.cache') return DJANGO;
    if (/(?:^|\.)(?:Pipeline)$/.test(type)) return { ...REDIS_PY, batch: 0 };
    return /(?:^|\.)(?:Strict)?Redis(?:Cluster)?$/.test(type) ? REDIS_PY : undefined;
  },
  derive(method, on, call) {
    if (on.family) return undefined;
    if (method === 'pipeline') return { ...on, batch: call.startIndex };
    return undefined;
  },
  constant(node) {
    if (node.type !== 'assignment') return undefined;
    const left = node.childForFieldName('left');
    const right = node.childForFieldName('right');
    return left?.type === 'identifier' && right && (right.type === 'string' || right.type === 'binary_operator' || right.type === 'concatenated_string')
      ? { name: left.text, value: right }
      : undefined;
  },
  glob,
  classify,
  clientByName: (name) => (redisLikeName(name) ? REDIS_PY : undefined),
  commentText: (node) => node.text.replace(/^#/, ''),
};
