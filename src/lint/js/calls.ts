/**
 * A method call on a resolved receiver → the Redis command it sends and what it does to the
 * key's TTL. ioredis spells commands in lower case (`hset`), node-redis in camel case
 * (`hSet`, `setEx`), both fold to the same Redis command; raw `call('SET', …)` and
 * `sendCommand(['SET', …])` are read from their literal command name.
 */
import { CREATING_COMMANDS, SET_TTL_OPTIONS, TTL_SETTERS, type CreatingCommand } from '../../guard/commands.js';
import type { RedisCall } from '../types.js';
import { RAW_METHODS, type Receiver } from './clients.js';
import { stringValue, unwrap, type EsNode } from './ast.js';

/** A call before the walk adds its key text, span and scope. */
export type CallShape = Pick<RedisCall, 'command' | 'ttl' | 'client' | 'zeroHint'> & {
  keyArg: EsNode | undefined;
  /** Where the command is written, when not the method call itself (an entry of `multi([…])`). */
  at?: EsNode;
};

const CREATING: ReadonlyMap<string, CreatingCommand> = new Map(Object.entries(CREATING_COMMANDS));
const TTL_TOKENS = new Set<string>([...SET_TTL_OPTIONS, 'KEEPTTL']);
const TTL_FIELDS = new Set<string>([...TTL_TOKENS, 'expiration']);

const isZero = (n: EsNode | undefined): boolean => {
  const v = unwrap(n);
  return !!v && ((v.type === 'Literal' && (v.value === 0 || v.value === null)) || (v.type === 'Identifier' && v.name === 'undefined'));
};

const propName = (p: EsNode): string | undefined => {
  const key = p.key as EsNode | undefined;
  return key ? ((key.name as string | undefined) ?? (typeof key.value === 'string' ? key.value : undefined)) : undefined;
};

/** Whether SET's option arguments give the key a TTL (or may: anything not literal counts). */
function setGivesTtl(options: EsNode[]): boolean {
  return options.some((arg) => {
    const n = unwrap(arg);
    if (!n) return false;
    const token = stringValue(n);
    if (token !== undefined) return TTL_TOKENS.has(token.toUpperCase());
    if (n.type === 'ObjectExpression') {
      return (n.properties as EsNode[]).some(
        (p) => p.type !== 'Property' || TTL_FIELDS.has(propName(p) ?? '') || TTL_FIELDS.has((propName(p) ?? '').toUpperCase()),
      );
    }
    // A variable, spread or call: its value is unknown here, so give the benefit of the doubt.
    return n.type !== 'Literal';
  });
}

/**
 * The key argument of a creating command, or false when this call creates none. Commands with
 * a syntax of their own (XADD … NOMKSTREAM, SORT … STORE, COPY … DB) are read by the guard's
 * own parser: literal arguments keep their text, anything else stands in as a placeholder
 * that no option token can equal, and the key the parser picks is mapped back to its node.
 */
function createdKeyArg(spec: CreatingCommand, args: EsNode[]): EsNode | undefined | false {
  const sel = spec.keys;
  if ('at' in sel) return args[sel.at];
  if ('every' in sel) return args[sel.from];
  const texts = args.map((a, i) => stringValue(a) ?? `\u0000arg${i}`);
  const keys = sel.parse(texts, 0);
  const key = 'otherDb' in keys ? keys.otherDb : keys[0];
  if (key === undefined) return false;
  const at = texts.indexOf(String(key));
  return at === -1 ? false : args[at];
}

function redisCommand(command: string, args: EsNode[], client: string): CallShape | undefined {
  const lower = command.toLowerCase();
  const upper = command.toUpperCase();
  if (lower === 'setex' || lower === 'psetex') return { command: upper, ttl: 'given', client, keyArg: args[0] };
  if (TTL_SETTERS.has(lower)) return { command: upper, ttl: 'expire', client, keyArg: args[0] };
  const spec = CREATING.get(lower);
  if (!spec || args.length === 0) return undefined;
  const keyArg = createdKeyArg(spec, args);
  if (keyArg === false) return undefined;
  const ttl = lower === 'set' && setGivesTtl(args.slice(2)) ? 'given' : 'none';
  return { command: upper, ttl, client, keyArg };
}

/** keyv and cache-manager: `set(key, value, ttl)`, where a ttl of 0 or undefined is forever. */
function cacheSet(args: EsNode[], on: Receiver): CallShape | undefined {
  const ttlArg = args[2];
  const zeroHint = 'pass a TTL in milliseconds greater than 0';
  const base = { command: 'SET', client: on.client, keyArg: args[0], zeroHint };
  if (ttlArg === undefined) return { ...base, ttl: on.defaultTtl ? 'given' : 'none' };
  if (isZero(ttlArg)) return { ...base, ttl: 'zero' };
  const n = unwrap(ttlArg);
  if (n?.type === 'ObjectExpression') {
    const ttl = (n.properties as EsNode[]).find((p) => p.type === 'Property' && propName(p) === 'ttl');
    if (!ttl) return { ...base, ttl: on.defaultTtl ? 'given' : 'none' };
    return { ...base, ttl: isZero(ttl.value as EsNode) ? 'zero' : 'given' };
  }
  return { ...base, ttl: 'given' };
}

/** The Redis command(s) a method call on a client sends. */
export function classifyCall(method: string, args: EsNode[], on: Receiver): CallShape[] {
  if (on.kind === 'cache') {
    const shape = method === 'set' ? cacheSet(args, on) : undefined;
    return shape ? [shape] : [];
  }
  if (RAW_METHODS.has(method)) {
    const first = unwrap(args[0]);
    const raw = first?.type === 'ArrayExpression' ? (first.elements as EsNode[]) : args;
    const name = stringValue(raw[0]);
    const shape = name !== undefined ? redisCommand(name, raw.slice(1), on.client) : undefined;
    return shape ? [shape] : [];
  }
  const shape = redisCommand(method, args, on.client);
  return shape ? [shape] : [];
}

/** `multi([['set', k, v], ['expire', k, 60]])`: the commands queued by the array form. */
export function queuedCommands(args: EsNode[], on: Receiver): CallShape[] {
  const list = unwrap(args[0]);
  if (!list || list.type !== 'ArrayExpression') return [];
  return (list.elements as (EsNode | null)[]).flatMap((el) => {
    const cmd = unwrap(el ?? undefined);
    if (!cmd || cmd.type !== 'ArrayExpression') return [];
    const parts = cmd.elements as EsNode[];
    const name = stringValue(parts[0]);
    const shape = name !== undefined ? redisCommand(name, parts.slice(1), on.client) : undefined;
    return shape ? [{ ...shape, at: cmd }] : [];
  });
}
