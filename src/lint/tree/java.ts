/**
 * Java: Jedis (`Jedis`, `JedisPooled`, `JedisCluster`, `UnifiedJedis`, `pool.getResource()`,
 * `Pipeline` / `Transaction`), Lettuce (`RedisClient.create(…).connect().sync()`,
 * `RedisCommands<…>`) and Spring Data Redis (`RedisTemplate` / `StringRedisTemplate`,
 * `opsForValue().set(k, v)` vs `set(k, v, Duration)`, opsForHash/List/Set/ZSet, `expire`).
 * Spring's `Duration.ZERO` TTL means "no expiry": ttl-zero.
 */
import { escapeGlob } from '../../policy/index.js';
import { lastIdentifier, redisLikeName, redisShape, type Binding, type CallParts, type Dialect, type Shape, type TreeReceiver } from './dialect.js';
import type { TsNode } from './runtime.js';
import { concat, formatTemplate, UNKNOWN, type Glob } from './strings.js';

const TYPES: Readonly<Record<string, TreeReceiver>> = {
  Jedis: { client: 'jedis' },
  JedisPooled: { client: 'jedis' },
  JedisCluster: { client: 'jedis' },
  UnifiedJedis: { client: 'jedis' },
  JedisPool: { client: 'jedis', family: 'pool' },
  Pipeline: { client: 'jedis', batch: 0 },
  Transaction: { client: 'jedis', batch: 0 },
  RedisCommands: { client: 'lettuce' },
  RedisAsyncCommands: { client: 'lettuce' },
  RedisAdvancedClusterCommands: { client: 'lettuce' },
  RedisClusterCommands: { client: 'lettuce' },
  StatefulRedisConnection: { client: 'lettuce', family: 'connection' },
  RedisTemplate: { client: 'spring-data-redis', family: 'template' },
  StringRedisTemplate: { client: 'spring-data-redis', family: 'template' },
  ValueOperations: { client: 'spring-data-redis', family: 'value' },
  HashOperations: { client: 'spring-data-redis', family: 'hash' },
  ListOperations: { client: 'spring-data-redis', family: 'list' },
  SetOperations: { client: 'spring-data-redis', family: 'set' },
  ZSetOperations: { client: 'spring-data-redis', family: 'zset' },
};

const OPS: Readonly<Record<string, string>> = { opsForValue: 'value', opsForHash: 'hash', opsForList: 'list', opsForSet: 'set', opsForZSet: 'zset' };

/** Spring operations → the Redis command they send. */
const SPRING: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  value: { set: 'set', setIfAbsent: 'set', increment: 'incr', decrement: 'decr', append: 'append', multiSet: 'mset' },
  hash: { put: 'hset', putAll: 'hset', putIfAbsent: 'hsetnx', increment: 'hincrby' },
  list: { leftPush: 'lpush', rightPush: 'rpush', leftPushAll: 'lpush', rightPushAll: 'rpush' },
  set: { add: 'sadd' },
  zset: { add: 'zadd', incrementScore: 'zincrby' },
  template: { expire: 'expire', expireAt: 'expireat', persist: 'persist' },
};

const ZERO_HINT = 'pass a positive Duration (Duration.ZERO means no expiry)';

function callParts(node: TsNode): CallParts | undefined {
  const name = node.childForFieldName('name');
  if (!name) return undefined;
  const args = (node.childForFieldName('arguments')?.namedChildren ?? []).filter(
    (a): a is TsNode => !!a && a.type !== 'line_comment' && a.type !== 'block_comment',
  );
  return { receiver: node.childForFieldName('object'), method: name.text, at: name, args, kwargs: new Map() };
}

function classify(parts: CallParts, on: TreeReceiver): Shape[] {
  if (on.family === 'pool' || on.family === 'connection') return [];
  if (on.family !== undefined) {
    const command = SPRING[on.family]?.[parts.method];
    if (command === undefined) return [];
    if (command === 'set') {
      const ttlArg = parts.args[2];
      const ttl = ttlArg === undefined ? 'none' : /^Duration\.ZERO$/.test(ttlArg.text) ? 'zero' : 'given';
      return [{ command: parts.method === 'setIfAbsent' ? 'SETNX' : 'SET', ttl, keyArg: parts.args[0], zeroHint: ZERO_HINT }];
    }
    const shape = redisShape(command, parts.args);
    return shape ? [shape] : [];
  }
  const shape = redisShape(parts.method.toLowerCase(), parts.args, parts.args.length > 2 ? 'given' : 'none');
  return shape ? [shape] : [];
}

const stringText = (node: TsNode): string => node.namedChildren.map((c) => (c ? c.text : '')).join('');

function glob(node: TsNode, resolve: (name: string) => TsNode | undefined, depth: number): Glob {
  if (depth > 8) return UNKNOWN;
  switch (node.type) {
    case 'string_literal':
      return { glob: escapeGlob(stringText(node)), exact: true };
    case 'decimal_integer_literal':
      return { glob: node.text, exact: true };
    case 'binary_expression': {
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (node.childForFieldName('operator')?.text !== '+' || !left || !right) return UNKNOWN;
      return concat(glob(left, resolve, depth + 1), glob(right, resolve, depth + 1));
    }
    case 'method_invocation': {
      // String.format("session:%s", id)
      const first = node.childForFieldName('arguments')?.namedChildren[0];
      if (node.childForFieldName('object')?.text === 'String' && node.childForFieldName('name')?.text === 'format' && first?.type === 'string_literal')
        return formatTemplate(stringText(first));
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

function bindings(node: TsNode): Binding[] {
  switch (node.type) {
    case 'local_variable_declaration':
    case 'field_declaration': {
      const type = node.childForFieldName('type')?.text;
      return node.childrenForFieldName('declarator').flatMap((d) => {
        const name = d?.childForFieldName('name');
        return name ? [{ name: name.text, type, value: d!.childForFieldName('value') ?? undefined }] : [];
      });
    }
    case 'formal_parameter':
    case 'resource': {
      const name = node.childForFieldName('name');
      return name ? [{ name: name.text, type: node.childForFieldName('type')?.text, value: node.childForFieldName('value') ?? undefined }] : [];
    }
    case 'assignment_expression': {
      const left = node.childForFieldName('left');
      const name = left ? nameOf(left) : undefined;
      return name !== undefined ? [{ name, value: node.childForFieldName('right') ?? undefined }] : [];
    }
    default:
      return [];
  }
}

function nameOf(node: TsNode): string | undefined {
  if (node.type === 'identifier') return node.text;
  if (node.type === 'field_access') return node.childForFieldName('field')?.text;
  return undefined;
}

export const java: Dialect = {
  language: 'java',
  grammar: 'java',
  extensions: ['.java'],
  functionTypes: new Set(['method_declaration', 'constructor_declaration', 'lambda_expression']),
  commentTypes: new Set(['line_comment', 'block_comment']),
  callTypes: new Set(['method_invocation']),
  bindingTypes: new Set(['local_variable_declaration', 'field_declaration', 'formal_parameter', 'resource', 'assignment_expression', 'variable_declarator']),
  callParts,
  bindings,
  nameOf,
  created(node) {
    if (node.type === 'object_creation_expression') {
      const made = TYPES[lastIdentifier(node.childForFieldName('type')?.text ?? '')];
      return made && made.batch === undefined ? made : undefined;
    }
    if (node.type === 'method_invocation' && node.childForFieldName('object')?.text === 'RedisClient' && node.childForFieldName('name')?.text === 'create')
      return { client: 'lettuce', family: 'connection' };
    return undefined;
  },
  typed(type) {
    const made = TYPES[lastIdentifier(type.replace(/<.*$/s, ''))];
    return made && { ...made };
  },
  derive(method, on, call) {
    if (on.client === 'jedis' && (method === 'multi' || method === 'pipelined')) return { client: 'jedis', batch: call.startIndex };
    if (on.family === 'pool' && method === 'getResource') return { client: 'jedis' };
    if (on.client === 'lettuce' && (method === 'connect' || method === 'sync' || method === 'async'))
      return { client: 'lettuce', family: method === 'connect' ? 'connection' : undefined };
    if (on.family === 'template' && Object.hasOwn(OPS, method)) return { client: on.client, family: OPS[method] };
    return undefined;
  },
  constant(node) {
    if (node.type !== 'variable_declarator') return undefined;
    const name = node.childForFieldName('name');
    const value = node.childForFieldName('value');
    return name && value && (value.type === 'string_literal' || value.type === 'binary_expression' || value.type === 'method_invocation')
      ? { name: name.text, value }
      : undefined;
  },
  glob,
  classify,
  clientByName: (name) =>
    /(?:^|redis)template$/i.test(name)
      ? { client: 'spring-data-redis', family: 'template' }
      : redisLikeName(name) || /jedis/i.test(name)
        ? { client: 'jedis' }
        : undefined,
  commentText: (node) => node.text.replace(/^\/\/|^\/\*|\*\/$/g, ''),
};
