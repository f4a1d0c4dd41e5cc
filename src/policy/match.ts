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
  next: Map<number, TrieNode>;
  /** Rules whose literal prefix ends exactly here, in rule order. */
  rules: Candidate[];
}

const newNode = (): TrieNode => ({ next: new Map(), rules: [] });

/**
 * Build a matcher for a policy. Matching is binary-safe (string keys are UTF-8) and follows
 * Redis MATCH semantics; see `compileGlob`.
 */
export function createMatcher(policy: Policy): PolicyMatcher {
  const root = newNode();
  for (const rule of policy.rules) {
    const prefix = globPrefix(rule.match);
    let node = root;
    for (const byte of prefix) {
      let child = node.next.get(byte);
      if (!child) node.next.set(byte, (child = newNode()));
      node = child;
    }
    node.rules.push({ rule, test: compileGlob(rule.match) });
  }
  // Most policies are a handful of rules: a flat list in order is then as fast as the trie.
  const flat = policy.rules.length <= 4 ? policy.rules.map((rule) => ({ rule, test: compileGlob(rule.match) })) : undefined;

  return {
    match(key) {
      if (flat) {
        for (const c of flat) if (c.test(key)) return c.rule;
        return undefined;
      }
      const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
      let best: PolicyRule | undefined;
      let node: TrieNode | undefined = root;
      // Walk the key through the trie; every node passed holds rules whose prefix the key has.
      for (let i = 0; node; i++) {
        for (const c of node.rules) {
          if (best !== undefined && c.rule.index >= best.index) break; // rules are in order per node
          if (c.test(bytes)) best = c.rule;
        }
        node = i < bytes.length ? node.next.get(bytes[i]) : undefined;
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
