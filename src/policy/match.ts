/**
 * Which rule governs a key (first match wins), and what TTL a key gets under a rule.
 *
 * Scan, fix and watch call `match` once per key across millions of keys, so rules are indexed
 * by their literal prefix in a byte trie: a key only runs the globs of rules whose prefix it
 * starts with (plus rules that start with a wildcard), in rule order.
 */
import { compileGlob, globPrefix } from './glob.js';
import { MIN_TTL_MS, type Policy, type PolicyRule } from './schema.js';

export interface PolicyMatcher {
  /** First matching rule (first match wins), or undefined. */
  match(key: Buffer | string): PolicyRule | undefined;
}

interface Candidate {
  rule: PolicyRule;
  test: (key: Buffer | string) => boolean;
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
  const candidates = policy.rules.map((rule) => ({ rule, test: compileGlob(rule.match) }));
  // Most policies are a handful of rules: a flat list in order is then as fast as the trie.
  if (candidates.length <= 4) {
    return {
      match(key) {
        for (const c of candidates) if (c.test(key)) return c.rule;
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
      const unit = typeof bytes === 'string' ? (i: number) => bytes.charCodeAt(i) : (i: number) => bytes[i];
      let best: PolicyRule | undefined;
      let node: TrieNode | undefined = root;
      // Every trie node on the key's path holds rules whose literal prefix the key starts with.
      for (let i = 0; node; i++) {
        for (const c of node.rules) {
          if (best !== undefined && c.rule.index >= best.index) break; // each node's rules are in order
          if (c.test(bytes)) best = c.rule;
        }
        node = i < bytes.length ? node.next[unit(i)] : undefined;
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
