/**
 * What the tree-sitter front end needs to know about one language: its call shape, how values
 * and types make a Redis client, how strings become globs, and how each client's methods map
 * to Redis commands. One file per language implements it; tree/extract.ts does the rest.
 */
import { CREATING_COMMANDS, TTL_SETTERS, type CreatingCommand } from '../../guard/commands.js';
import type { Language, RedisCall } from '../types.js';
import type { TsNode } from './runtime.js';

/** A receiver resolved to a client (or a pipeline, or a typed view such as Spring's opsForHash). */
export interface TreeReceiver {
  client: string;
  /** Sub-API: Spring `opsForValue` → `value`, Django cache → `cache`; undefined for plain clients. */
  family?: string;
  batch?: number;
}

export interface CallParts {
  receiver: TsNode | null;
  method: string;
  /** Where the finding points: from the method name to the end of the call. */
  at: TsNode;
  args: TsNode[];
  kwargs: Map<string, TsNode>;
  /** A block or closure passed to the call (Ruby `do |pipe| … end`). */
  block?: TsNode;
}

export interface Shape {
  command: string;
  ttl: RedisCall['ttl'];
  keyArg: TsNode | undefined;
  zeroHint?: string;
}

/** A name bound to a value or a declared type, met during the walk. */
export interface Binding {
  name: string;
  value?: TsNode;
  type?: string;
}

export interface Dialect {
  language: Language;
  grammar: string;
  extensions: string[];
  functionTypes: ReadonlySet<string>;
  commentTypes: ReadonlySet<string>;
  callTypes: ReadonlySet<string>;
  /** Node types `bindings` or `constant` may return something for (the walk skips the rest). */
  bindingTypes: ReadonlySet<string>;
  callParts(node: TsNode): CallParts | undefined;
  /** Names bound at this node (assignments, parameters, `with … as`, declarations). */
  bindings(node: TsNode): Binding[];
  /** The name an expression refers to (`r`, `self.redis` → `redis`), or undefined. */
  nameOf(node: TsNode): string | undefined;
  /** A client made by this expression (`redis.Redis()`, `Redis.new`, `redis.NewClient(…)`). */
  created(node: TsNode): TreeReceiver | undefined;
  /** A client declared by a type (`*redis.Client`, `Jedis`, `RedisTemplate<…>`). */
  typed(type: string): TreeReceiver | undefined;
  /** A method on a client that returns a pipeline/transaction or a sub-API of the same client. */
  derive(method: string, on: TreeReceiver, call: TsNode): TreeReceiver | undefined;
  /** String constants: `PREFIX = "session:"`. */
  constant(node: TsNode): { name: string; value: TsNode } | undefined;
  /** A key expression's glob; `resolve` follows constants. */
  glob(node: TsNode, resolve: (name: string) => TsNode | undefined, depth: number): { glob: string; exact: boolean };
  classify(parts: CallParts, on: TreeReceiver): Shape[];
  clientByName(name: string): TreeReceiver | undefined;
  /** The text of a comment without its delimiters. */
  commentText(node: TsNode): string;
}

const CREATING: ReadonlyMap<string, CreatingCommand> = new Map(Object.entries(CREATING_COMMANDS));

/**
 * A Redis command by name with its arguments after the command (the key first, as in the
 * protocol): what it does to the key's TTL. `setTtl` says, for SET, whether options give one.
 */
export function redisShape(command: string, args: TsNode[], setTtl: RedisCall['ttl'] = 'none'): Shape | undefined {
  const lower = command.toLowerCase();
  const upper = lower.toUpperCase();
  if (lower === 'setex' || lower === 'psetex') return { command: upper, ttl: 'given', keyArg: args[0] };
  if (TTL_SETTERS.has(lower)) return { command: upper, ttl: 'expire', keyArg: args[0] };
  const spec = CREATING.get(lower);
  if (!spec || args.length === 0) return undefined;
  const sel = spec.keys;
  // Commands with a syntax of their own (XADD … NOMKSTREAM, SORT … STORE) are not read here.
  if ('parse' in sel) return undefined;
  const keyArg = 'at' in sel ? args[sel.at] : args[sel.from];
  return { command: upper, ttl: lower === 'set' ? setTtl : 'none', keyArg };
}

/** Globs for literal text: escaped like escapeGlob, joined, `**` collapsed by the caller. */
export { escapeGlob } from '../../policy/index.js';

export const lastIdentifier = (text: string): string => /([A-Za-z_][A-Za-z0-9_]*)\s*(?:<.*>)?\s*$/.exec(text)?.[1] ?? text;

/** Common "is this name a Redis client" rule: contains redis/valkey, and is not a key, URL or setting. */
export function redisLikeName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    (lower.includes('redis') || lower.includes('valkey')) &&
    !/(?:keys?|url|uri|config|conf|options|opts|host|port|prefix|settings|error|exception)$/.test(lower)
  );
}
