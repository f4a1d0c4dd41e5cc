/**
 * Commands whose created key depends on their options, read the way Redis reads them: by
 * argument position, option by option, each option consuming its own arguments. Searching for a
 * token anywhere is wrong: `SORT list GET store STORE dst` has a GET pattern named `store`, and
 * an XADD field value may be the string `NOMKSTREAM`.
 */

/** A command argument as the client libraries hold it. */
export type Arg = string | Buffer | number;

/** Case-insensitive comparison of an argument with an upper-case ASCII option token, without allocating. */
export function tokenIs(arg: Arg | undefined, token: string): boolean {
  if (arg === undefined || typeof arg === 'number' || arg.length !== token.length) return false;
  for (let i = 0; i < token.length; i++) {
    const code = typeof arg === 'string' ? arg.charCodeAt(i) : arg[i];
    // Lower-case ASCII letters fold to upper case; anything else must match exactly.
    const upper = code >= 0x61 && code <= 0x7a ? code - 0x20 : code;
    if (upper !== token.charCodeAt(i)) return false;
  }
  return true;
}

/** Option name (upper case) → how many arguments follow it. */
type Arity = Readonly<Record<string, number>>;

/**
 * Walk the options from `from`: the argument after the last `wanted` option, `null` when the
 * options hold a token Redis would reject (the command then creates nothing), undefined when
 * no `wanted` option is given.
 */
function lastOption(args: ArrayLike<Arg>, from: number, arity: Arity, wanted: readonly string[]): Arg | undefined | null {
  let found: Arg | undefined;
  for (let i = from; i < args.length;) {
    const name = Object.keys(arity).find((option) => tokenIs(args[i], option));
    if (name === undefined) return null;
    if (wanted.includes(name)) found = args[i + 1];
    i += 1 + arity[name];
  }
  return found;
}

const one = (key: Arg | undefined | null): readonly Arg[] => (key === undefined || key === null ? [] : [key]);

/** SORT key [BY pattern] [LIMIT offset count] [GET pattern …] [ASC|DESC] [ALPHA] [STORE destination] */
export const sortKeys = (args: ArrayLike<Arg>, base: number): readonly Arg[] =>
  one(lastOption(args, base + 1, { BY: 1, LIMIT: 2, GET: 1, ASC: 0, DESC: 0, ALPHA: 0, STORE: 1 }, ['STORE']));

const GEORADIUS_OPTIONS: Arity = { WITHCOORD: 0, WITHDIST: 0, WITHHASH: 0, COUNT: 1, ANY: 0, ASC: 0, DESC: 0, STORE: 1, STOREDIST: 1 };

/** GEORADIUS key longitude latitude radius unit [options] [STORE key] [STOREDIST key]: the last STORE/STOREDIST wins. */
export const georadiusKeys = (args: ArrayLike<Arg>, base: number): readonly Arg[] => one(lastOption(args, base + 5, GEORADIUS_OPTIONS, ['STORE', 'STOREDIST']));

/** GEORADIUSBYMEMBER key member radius unit [options] [STORE key] [STOREDIST key] */
export const georadiusByMemberKeys = (args: ArrayLike<Arg>, base: number): readonly Arg[] =>
  one(lastOption(args, base + 4, GEORADIUS_OPTIONS, ['STORE', 'STOREDIST']));

/**
 * XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] [KEEPREF|DELREF|ACKED] <*|id> field value …
 * Redis reads options until the first argument that is none: that is the ID, and the field
 * values after it are data.
 */
export function xaddKeys(args: ArrayLike<Arg>, base: number): readonly Arg[] {
  for (let i = base + 1; i < args.length; i++) {
    const a = args[i];
    if (tokenIs(a, 'NOMKSTREAM')) return [];
    if (tokenIs(a, 'MAXLEN') || tokenIs(a, 'MINID')) {
      if (tokenIs(args[i + 1], '=') || tokenIs(args[i + 1], '~')) i++;
      i++; // the threshold
    } else if (tokenIs(a, 'LIMIT')) i++;
    else if (!(tokenIs(a, 'KEEPREF') || tokenIs(a, 'DELREF') || tokenIs(a, 'ACKED'))) break; // the ID
  }
  return one(args[base]);
}

/** XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]: only CREATE … MKSTREAM creates the stream. */
export function xgroupKeys(args: ArrayLike<Arg>, base: number): readonly Arg[] {
  if (!tokenIs(args[base], 'CREATE')) return [];
  let mkstream = false;
  for (let i = base + 4; i < args.length; i++) {
    if (tokenIs(args[i], 'MKSTREAM')) mkstream = true;
    else if (tokenIs(args[i], 'ENTRIESREAD')) i++;
    else return [];
  }
  return mkstream ? one(args[base + 1]) : [];
}

/** COPY source destination [DB n] [REPLACE]: with DB the destination is in database n. */
export function copyKeys(args: ArrayLike<Arg>, base: number): readonly Arg[] | { readonly otherDb: Arg } {
  const destination = args[base + 1];
  const db = lastOption(args, base + 2, { DB: 1, REPLACE: 0 }, ['DB']);
  if (destination === undefined || db === null) return [];
  return db === undefined ? [destination] : { otherDb: destination };
}
