import { copyKeys, georadiusByMemberKeys, georadiusKeys, sortKeys, tokenIs, xaddKeys, xgroupKeys, type Arg } from './syntax.js';

export { tokenIs };

/**
 * Which Redis commands can create a key, where that key sits in the arguments, and how the
 * guard attaches a TTL to it. Data, not branches: adding a command is one line.
 *
 * `ttl: 'inline'` means the command can carry its own TTL (the SET family: the guard appends
 * `PX ms` when none of EX/PX/EXAT/PXAT/KEEPTTL is given). `ttl: 'expire'` means it cannot, so
 * the guard sends `PEXPIRE key ms NX` right after it, in the same MULTI (or in the
 * application's own pipeline/transaction): the key can never be left without a TTL by a crash,
 * and an existing TTL (a sliding session, a rate-limit window) is never reset.
 */

/** Where the created keys are, relative to the first argument after the command name. */
export type KeySelector =
  /** One key at a fixed position (0 = first argument). */
  | { readonly at: number }
  /** Every `step`-th argument from `from` (MSET k v k v …). */
  | { readonly every: number; readonly from: number }
  /** The command's own syntax, read by argument position (see `syntax.ts`). */
  | { readonly parse: KeyParser };

/**
 * Reads the keys a command creates from its arguments (`base` = index of its first argument).
 * `{ otherDb }`: the command creates that key in another database (COPY … DB n), where the
 * guard cannot reach it without switching the connection's database.
 */
export type KeyParser = (args: ArrayLike<Arg>, base: number) => readonly Arg[] | { readonly otherDb: Arg };

export interface CreatingCommand {
  readonly keys: KeySelector;
  readonly ttl: 'inline' | 'expire';
  /**
   * A blocking command (BLMOVE, BRPOPLPUSH): inside MULTI Redis never blocks, so its PEXPIRE is
   * sent right after its reply instead of in a MULTI with it.
   */
  readonly blocking?: true;
}

const FIRST = { at: 0 } as const;
const SECOND = { at: 1 } as const;

/** Lower-case command name → how it creates keys. */
export const CREATING_COMMANDS = {
  // Strings
  set: { keys: FIRST, ttl: 'inline' },
  setnx: { keys: FIRST, ttl: 'expire' },
  getset: { keys: FIRST, ttl: 'expire' },
  mset: { keys: { every: 2, from: 0 }, ttl: 'expire' },
  msetnx: { keys: { every: 2, from: 0 }, ttl: 'expire' },
  setrange: { keys: FIRST, ttl: 'expire' },
  append: { keys: FIRST, ttl: 'expire' },
  incr: { keys: FIRST, ttl: 'expire' },
  decr: { keys: FIRST, ttl: 'expire' },
  incrby: { keys: FIRST, ttl: 'expire' },
  decrby: { keys: FIRST, ttl: 'expire' },
  incrbyfloat: { keys: FIRST, ttl: 'expire' },
  setbit: { keys: FIRST, ttl: 'expire' },
  bitfield: { keys: FIRST, ttl: 'expire' },
  // Hashes
  hset: { keys: FIRST, ttl: 'expire' },
  hsetnx: { keys: FIRST, ttl: 'expire' },
  hmset: { keys: FIRST, ttl: 'expire' },
  hincrby: { keys: FIRST, ttl: 'expire' },
  hincrbyfloat: { keys: FIRST, ttl: 'expire' },
  hsetex: { keys: FIRST, ttl: 'expire' }, // Redis 8: its EX/PX are the fields' TTLs, not the key's
  // Lists
  lpush: { keys: FIRST, ttl: 'expire' },
  rpush: { keys: FIRST, ttl: 'expire' },
  linsert: { keys: FIRST, ttl: 'expire' },
  // Sets, sorted sets, streams, HyperLogLog, geo
  sadd: { keys: FIRST, ttl: 'expire' },
  zadd: { keys: FIRST, ttl: 'expire' },
  zincrby: { keys: FIRST, ttl: 'expire' },
  xadd: { keys: { parse: xaddKeys }, ttl: 'expire' },
  xgroup: { keys: { parse: xgroupKeys }, ttl: 'expire' },
  pfadd: { keys: FIRST, ttl: 'expire' },
  geoadd: { keys: FIRST, ttl: 'expire' },
  // Destination keys of moves, copies and *STORE commands
  copy: { keys: { parse: copyKeys }, ttl: 'expire' },
  smove: { keys: SECOND, ttl: 'expire' },
  lmove: { keys: SECOND, ttl: 'expire' },
  blmove: { keys: SECOND, ttl: 'expire', blocking: true },
  rpoplpush: { keys: SECOND, ttl: 'expire' },
  brpoplpush: { keys: SECOND, ttl: 'expire', blocking: true },
  sunionstore: { keys: FIRST, ttl: 'expire' },
  sinterstore: { keys: FIRST, ttl: 'expire' },
  sdiffstore: { keys: FIRST, ttl: 'expire' },
  zunionstore: { keys: FIRST, ttl: 'expire' },
  zinterstore: { keys: FIRST, ttl: 'expire' },
  zdiffstore: { keys: FIRST, ttl: 'expire' },
  zrangestore: { keys: FIRST, ttl: 'expire' },
  geosearchstore: { keys: FIRST, ttl: 'expire' },
  georadius: { keys: { parse: georadiusKeys }, ttl: 'expire' },
  georadiusbymember: { keys: { parse: georadiusByMemberKeys }, ttl: 'expire' },
  sort: { keys: { parse: sortKeys }, ttl: 'expire' },
  bitop: { keys: SECOND, ttl: 'expire' },
  // A renamed key keeps the source's TTL; a source without one would land on the policy's pattern without one.
  rename: { keys: SECOND, ttl: 'expire' },
  renamenx: { keys: SECOND, ttl: 'expire' },
  pfmerge: { keys: FIRST, ttl: 'expire' },
} as const satisfies Record<string, CreatingCommand>;

/**
 * Commands that decide the TTL of their first argument. A creating write followed, in the same
 * pipeline or MULTI, by one of these on the same key is the application's explicit choice:
 * strict mode accepts it and default mode adds nothing (SET … EX is covered by `inline`).
 * PERSIST counts: an application that removes the TTL on purpose is not overruled.
 */
export const TTL_SETTERS = new Set(['expire', 'pexpire', 'expireat', 'pexpireat', 'setex', 'psetex', 'persist']);

/** SET options that already decide the key's TTL. */
export const SET_TTL_OPTIONS = ['EX', 'PX', 'EXAT', 'PXAT'] as const;

/** Scripts and functions: their writes cannot be inspected from the client. */
export const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'fcall']);

const TABLE: ReadonlyMap<string, CreatingCommand> = new Map(Object.entries(CREATING_COMMANDS));

/** What the guard needs to know about a command name, looked up once per spelling. */
export interface CommandInfo {
  /** Lower-case name. */
  readonly lower: string;
  /** How it creates keys; undefined when it creates none. */
  readonly creates: CreatingCommand | undefined;
  /** True for EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, SETEX, PSETEX. */
  readonly setsTtl: boolean;
  /** True for SET (whose options may set a TTL). */
  readonly isSet: boolean;
  /** True for EVAL, EVALSHA, FCALL. */
  readonly isScript: boolean;
  /**
   * For commands that always create exactly one key at a fixed position (SET, HSET, INCR, COPY,
   * …): that position, so the hot path reads the key without `createdKeys` building an array.
   */
  readonly keyAt: number | undefined;
  /** True for BLMOVE and BRPOPLPUSH (see `CreatingCommand.blocking`). */
  readonly blocking: boolean;
}

// Keyed by the spelling the library uses (ioredis `hset`, node-redis `HSET`); bounded, since
// `call()` accepts any string.
const INFO = new Map<string, CommandInfo>();
// The last name looked up: a pipeline mostly repeats one command, and the libraries spell it with
// the same string object every time, so this compare is a pointer check instead of a Map lookup.
let lastName = '';
let lastInfo: CommandInfo | undefined;

/** Facts about a command name, in any case. */
export function commandInfo(name: string): CommandInfo {
  if (name === lastName && lastInfo !== undefined) return lastInfo;
  let info = INFO.get(name);
  if (info === undefined) {
    const lower = name.toLowerCase();
    const creates = TABLE.get(lower);
    info = {
      lower,
      creates,
      setsTtl: TTL_SETTERS.has(lower),
      isSet: lower === 'set',
      isScript: SCRIPT_COMMANDS.has(lower),
      keyAt: fixedKeyAt(creates),
      blocking: creates?.blocking === true,
    };
    if (INFO.size < 4096) INFO.set(name, info);
  }
  lastName = name;
  lastInfo = info;
  return info;
}

function fixedKeyAt(spec: CreatingCommand | undefined): number | undefined {
  if (spec === undefined) return undefined;
  return 'at' in spec.keys ? spec.keys.at : undefined;
}

/** The table entry for a command name (any case), or undefined when it creates no key. */
export function creatingCommand(name: string): CreatingCommand | undefined {
  return commandInfo(name).creates;
}

/** A command argument as the client libraries hold it (declared in syntax.ts, which reads them). */
export type { Arg };

/**
 * The keys a command would create. `args` holds the command's arguments starting at `base`
 * (node-redis keeps the command name at 0, ioredis does not). A key in another database
 * (COPY … DB n) is returned as `{ otherDb }`.
 */
export function createdKeys(spec: CreatingCommand, args: ArrayLike<Arg>, base: number): readonly Arg[] | { readonly otherDb: Arg } {
  const sel = spec.keys;
  if ('at' in sel) {
    const key = args[base + sel.at];
    return key === undefined ? [] : [key];
  }
  if ('every' in sel) {
    const keys: Arg[] = [];
    for (let i = base + sel.from; i < args.length; i += sel.every) keys.push(args[i]);
    return keys;
  }
  return sel.parse(args, base);
}

/**
 * True when the command decides the TTL of its first key itself (EXPIRE family, SETEX, PERSIST,
 * SET … EX/PX/EXAT/PXAT): a write to that key earlier in the same batch is then covered.
 */
export function decidesTtl(info: CommandInfo, args: ArrayLike<Arg>, base: number): boolean {
  return info.setsTtl || (info.isSet && setTtlMode(args, base) === 'sets');
}

/** How a SET call decides its TTL: it sets one, it keeps the existing one, or it clears it. */
export function setTtlMode(args: ArrayLike<Arg>, base: number): 'sets' | 'keeps' | 'none' {
  // base + 0 is the key, base + 1 the value (which may itself be the string "EX").
  for (let i = base + 2; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'number' || a.length < 2 || a.length > 7) continue;
    for (const option of SET_TTL_OPTIONS) if (tokenIs(a, option)) return 'sets';
    if (tokenIs(a, 'KEEPTTL')) return 'keeps';
  }
  return 'none';
}
