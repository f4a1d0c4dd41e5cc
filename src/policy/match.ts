/**
 * Which rule governs a key (first match wins), and what TTL a key gets under a rule.
 *
 * Scan, fix and watch call `match` once per key across millions of keys, so rules are indexed
 * by their literal prefix in a byte trie: a key only runs the globs of rules whose prefix it
 * starts with (plus rules that start with a wildcard), in rule order.
 */
import { compileGlob, globPrefix, tokenizeGlob } from './glob.js';
import { MIN_TTL_MS } from './min-ttl.js';
import type { Policy, PolicyRule } from './schema.js';

export interface PolicyMatcher {
  /** First matching rule (first match wins), or undefined. */
  match(key: Buffer | string): PolicyRule | undefined;
}

interface Candidate {
  rule: PolicyRule;
  test: (key: Buffer | string) => boolean;
  /** The byte every key this rule matches starts with; -1 when the glob starts with a wildcard. */
  first: number;
  /** For a glob `prefix*` with an ASCII prefix: the string keys it matches are those in [lo, hi). */
  lo: string | undefined;
  hi: string;
}

/**
 * The range of string keys a glob `prefix*` with an ASCII prefix matches, in JavaScript's string
 * order (UTF-16 units compared in turn): from the prefix itself up to, not including, the
 * prefix with its last character one higher. A key starts with the prefix exactly when it falls
 * in that range. Undefined for any other glob.
 */
function prefixRange(glob: string): { lo: string; hi: string } | undefined {
  const tokens = tokenizeGlob(glob);
  const last = tokens.length - 1;
  if (last < 1 || tokens[last].kind !== 'star') return undefined;
  let lo = '';
  for (let i = 0; i < last; i++) {
    const tok = tokens[i];
    if (tok.kind !== 'byte' || tok.byte >= 0x80) return undefined;
    lo += String.fromCharCode(tok.byte);
  }
  return { lo, hi: lo.slice(0, -1) + String.fromCharCode(lo.charCodeAt(lo.length - 1) + 1) };
}

// Applied to string keys rather than looked up on them: a lookup on a string depends on its
// representation (flat, concatenated, sliced, internalized), and with the mix of keys a real
// application writes, each one takes V8's slow megamorphic path (see `compileGlob`).
const { charCodeAt } = String.prototype;

/**
 * Whether a key whose first byte is `first` (a string key: its first UTF-16 unit) cannot match
 * the candidate. For a string key the unit stands for the first UTF-8 byte only when it is
 * ASCII; a non-ASCII unit encodes to a byte of 0xc2 or more, so it still rules out every ASCII
 * first byte, and rules starting with a non-ASCII byte are always tested.
 */
function ruledOut(c: Candidate, first: number | undefined, isString: boolean): boolean {
  return c.first >= 0 && c.first !== first && (c.first < 0x80 || !isString);
}

interface TrieNode {
  /** Children by byte; a plain array indexed by byte beats a Map on this hot path. */
  next: (TrieNode | undefined)[];
  /** Rules whose literal prefix ends exactly here, in rule order. */
  rules: Candidate[];
}

const newNode = (): TrieNode => ({ next: [], rules: [] });

/**
 * Build a matcher for a policy. Matching is binary-safe (string keys are UTF-8) and follows
 * Redis MATCH semantics; see `compileGlob`.
 */
export function createMatcher(policy: Policy): PolicyMatcher {
  const candidates: Candidate[] = policy.rules.map((rule) => {
    const prefix = globPrefix(rule.match);
    const range = prefixRange(rule.match);
    return { rule, test: compileGlob(rule.match), first: prefix.length > 0 ? prefix[0] : -1, lo: range?.lo, hi: range?.hi ?? '' };
  });
  // Most policies are a handful of rules: a flat list in order is then as fast as the trie. The
  // key's first byte rules out most of them before their glob runs (the guard matches every
  // write of a pipeline; scan and fix, every key). An empty key has no first byte: only a glob
  // starting with a wildcard can match it. Reading that first character also flattens a string
  // key built by concatenation, so a `prefix*` rule is then checked with two string comparisons,
  // cheaper than a call to `startsWith` (a generic builtin).
  if (candidates.length <= 4) {
    return {
      match(key) {
        const isString = typeof key === 'string';
        const first = isString ? charCodeAt.call(key, 0) : key[0];
        for (let i = 0; i < candidates.length; i++) {
          const c = candidates[i];
          if (ruledOut(c, first, isString)) continue;
          if (isString && c.lo !== undefined ? key >= c.lo && key < c.hi : c.test(key)) return c.rule;
        }
        return undefined;
      },
    };
  }
  const root = newNode();
  let asciiPrefixes = true;
  for (const c of candidates) {
    let node = root;
    for (const byte of globPrefix(c.rule.match)) {
      if (byte >= 0x80) asciiPrefixes = false;
      node = node.next[byte] ??= newNode();
    }
    node.rules.push(c);
  }
  // With ASCII-only prefixes a string key can walk the trie by char code without being encoded:
  // an ASCII char is the same byte in UTF-8, and a non-ASCII char can continue no prefix.
  const walkString = asciiPrefixes;

  return {
    match(key) {
      const bytes = typeof key === 'string' && !walkString ? Buffer.from(key, 'utf8') : key;
      let best: PolicyRule | undefined;
      let node: TrieNode | undefined = root;
      // Every trie node on the key's path holds rules whose literal prefix the key starts with.
      for (let i = 0; node; i++) {
        for (const c of node.rules) {
          if (best !== undefined && c.rule.index >= best.index) break; // each node's rules are in order
          if (c.test(bytes)) best = c.rule;
        }
        node = i < bytes.length ? node.next[typeof bytes === 'string' ? charCodeAt.call(bytes, i) : bytes[i]] : undefined;
      }
      return best;
    },
  };
}

/**
 * The TTL in milliseconds to give a key under this rule, with the rule's jitter applied; or
 * undefined for a durable rule or one without a TTL.
 *
 * Jitter only shortens: the TTL is drawn uniformly from `(ttl × (1 − jitter), ttl]`. The `ttl`
 * in the policy is a ceiling the operator promised ("sessions live at most 24h"), so a key
 * given a TTL by keywarden never looks like a policy violation to scan or doctor, and
 * `fix --max-ttl` / `EXPIRE … LT` comparisons stay simple. The result is a whole number of
 * milliseconds and never below 1 s (a jittered `EXPIRE key 0` would delete the key).
 *
 * @param random a source in [0, 1), `Math.random` by default (inject one in tests).
 */
export function ttlForRule(rule: PolicyRule, random: () => number = Math.random): number | undefined {
  if (rule.role === 'durable' || rule.ttlMs === undefined) return undefined;
  const jitter = rule.jitter ?? 0;
  const ttl = jitter > 0 ? rule.ttlMs * (1 - jitter * random()) : rule.ttlMs;
  return Math.max(MIN_TTL_MS, Math.round(ttl));
}
