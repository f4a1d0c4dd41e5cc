/**
 * `suggestPolicy`: a starter `keywarden.yml` from a sampled scan. One rule per inferred
 * pattern; the TTL comes from the TTLs the same pattern already has where it has any, else
 * from what the name says the keys are (sessions, caches, tokens, counters, locks); a pattern
 * with neither becomes `role: durable`, the one choice fix can never get wrong, for the
 * operator to review. Every rule carries a comment saying what the sample saw, with examples
 * of its own keys.
 *
 * Key names are hostile input, and a suggested rule is applied by fix, `watch --enforce` and
 * guard() to keys that do not exist yet: a rule is never a catch-all (a glob with no literal
 * letter or digit, such as `*:*`), and never matches more than the pattern it was inferred
 * from. Each rule is tried, in first-match order, against every sampled key; one that would
 * also catch keys of another pattern is left out and named in a comment instead.
 */
import { formatBytes, formatCount } from '../units.js';
import { displayKey } from '../display.js';
import { createPatternGrouper } from '../keyspace/patterns.js';
import { scanRecords } from '../keyspace/scanner.js';
import { formatDuration } from './duration.js';
import { compileGlob } from './glob.js';
import type { Role } from './schema.js';
import type { Target } from '../target/connect.js';

export interface SuggestedRule {
  match: string;
  /** Suggested TTL in ms; absent for durable. */
  ttlMs?: number;
  role?: Role;
  jitter?: number;
  /** Estimated keys in the whole keyspace (the sample scaled up). */
  keys: number;
  /** Keys of the pattern in the sample. */
  sampled: number;
  /** Share of sampled keys without a TTL. */
  noTtlShare: number;
  /** Estimated bytes of the whole pattern. */
  bytes: number;
  /** Remaining TTLs seen in the sample (ms): median and 90th percentile, when any key had one. */
  observedTtl?: { p50: number; p90: number };
  /** Why this TTL/role: 'observed', 'name', or 'review'. */
  basis: 'observed' | 'name' | 'review';
  examples: string[];
}

export interface PolicySuggestion {
  target: string;
  keysSampled: number;
  dbsize: number;
  rules: SuggestedRule[];
  /** Keys of the sample in patterns too small to get a rule. */
  otherKeys: number;
  /** Patterns that got no rule, and why: a catch-all, or a glob that matches other patterns' keys. */
  withheld: Array<{ match: string; sampled: number; reason: 'catch-all' | 'overreach' }>;
}

export interface SuggestOptions {
  /** Keys to sample. Default 20 000. */
  sampleKeys?: number;
  db?: number;
  /** Most rules to suggest. Default 50. */
  maxRules?: number;
  signal?: AbortSignal;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** TTLs people write: the suggestion is rounded up to one of these. */
const LADDER = [MIN, 5 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY];

/** What a name says, first match wins; only the literal words of the pattern are tested. */
const NAME_HINTS = [
  { test: /sess/i, role: 'session', ttlMs: DAY },
  { test: /cache/i, role: 'cache', ttlMs: HOUR, jitter: 0.1 },
  { test: /lock|mutex|semaphore/i, role: 'token', ttlMs: MIN },
  { test: /token|otp|nonce|csrf|verif|reset|magic|confirm/i, role: 'token', ttlMs: HOUR },
  { test: /rate|limit|throttle|counter|hits/i, role: 'counter', ttlMs: HOUR },
] as const satisfies ReadonlyArray<{ test: RegExp; role: Role; ttlMs: number; jitter?: number }>;

interface Acc {
  keys: number;
  noTtl: number;
  bytes: number;
  ttls: number[];
  /** The sampled keys themselves: what the rule is checked against and its examples come from. */
  members: Buffer[];
}
const TTL_SAMPLES = 500;

/** Sample the keyspace of `target` and suggest one rule per pattern. Read-only. */
export async function suggestPolicy(target: Target, options: SuggestOptions = {}): Promise<PolicySuggestion> {
  const grouper = createPatternGrouper<Acc>({
    create: () => ({ keys: 0, noTtl: 0, bytes: 0, ttls: [], members: [] }),
    merge(into, from) {
      into.keys += from.keys;
      for (const k of from.members) into.members.push(k);
      into.noTtl += from.noTtl;
      into.bytes += from.bytes;
      for (const t of from.ttls) if (into.ttls.length < TTL_SAMPLES) into.ttls.push(t);
    },
    maxPatterns: options.maxRules ?? 50,
  });
  const run = await scanRecords(target, {
    sample: { keys: options.sampleKeys ?? 20_000 },
    db: options.db,
    signal: options.signal,
    onBatch(records) {
      for (const r of records) {
        const acc = grouper.bucket(r.key);
        acc.keys++;
        acc.members.push(r.key);
        if (r.bytes > 0) acc.bytes += r.bytes;
        if (r.ttlMs < 0) acc.noTtl++;
        else if (acc.ttls.length < TTL_SAMPLES) acc.ttls.push(r.ttlMs);
      }
    },
  });
  const sampled = run.nodes.reduce((s, n) => s + n.keysSeen, 0);
  const dbsize = run.nodes.reduce((s, n) => s + n.dbsize, 0);
  const scale = sampled > 0 ? Math.max(dbsize / sampled, 1) : 1;
  const groups = grouper.finish();
  const otherKeys = groups.filter((g) => g.pattern === '(other)').reduce((s, g) => s + g.keys, 0);
  const own = new Map<string, Acc>(groups.filter((g) => g.pattern !== '(other)').map((g) => [g.pattern, g.stats]));
  const everyKey = groups.flatMap((g) => g.stats.members);
  const withheld: PolicySuggestion['withheld'] = [];
  const candidates: SuggestedRule[] = [];
  for (const [pattern, acc] of own) {
    if (isCatchAll(pattern)) withheld.push({ match: pattern, sampled: acc.keys, reason: 'catch-all' });
    else candidates.push(suggestRule(pattern, acc, scale));
  }
  // In first-match order, each rule may catch only its own keys among those no earlier rule took.
  const rules: SuggestedRule[] = [];
  const taken = new Set<Buffer>();
  for (const rule of orderBySpecificity(candidates)) {
    const test = compileGlob(rule.match);
    const mine = new Set(own.get(rule.match)!.members);
    const caught = everyKey.filter((k) => !taken.has(k) && test(k));
    if (caught.some((k) => !mine.has(k))) {
      withheld.push({ match: rule.match, sampled: rule.sampled, reason: 'overreach' });
      continue;
    }
    for (const k of caught) taken.add(k);
    rules.push(rule);
  }
  return { target: target.spec.display, keysSampled: sampled, dbsize, rules, otherKeys, withheld };
}

/** A glob with no literal letter or digit (`*`, `*:*`, `?*-*`) would govern every key family, new ones included. */
function isCatchAll(glob: string): boolean {
  let literal = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') literal += glob[++i] ?? '';
    else if (c === '[') i = glob.indexOf(']', i + 1) < 0 ? glob.length : glob.indexOf(']', i + 1);
    else if (c !== '*' && c !== '?') literal += c;
  }
  return !/[\p{L}\p{N}]/u.test(literal);
}

function suggestRule(pattern: string, acc: Acc, scale: number): SuggestedRule {
  const base = {
    match: pattern,
    keys: Math.round(acc.keys * scale),
    sampled: acc.keys,
    noTtlShare: acc.keys > 0 ? acc.noTtl / acc.keys : 0,
    bytes: Math.round(acc.bytes * scale),
    examples: [...acc.members]
      .sort(Buffer.compare)
      .slice(0, 2)
      .map((k) => displayKey(k, 60)),
  };
  const hint = NAME_HINTS.find((h) => h.test.test(pattern.replace(/\*|\?|\[[^\]]*\]/g, ' ')));
  if (acc.ttls.length > 0) {
    const sorted = [...acc.ttls].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)];
    const p90 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))];
    // Remaining TTLs are below the TTL the application sets: round the 90th percentile up.
    const ttlMs = LADDER.find((step) => step >= p90) ?? LADDER[LADDER.length - 1];
    return { ...base, ttlMs, role: hint?.role, ...(hint && 'jitter' in hint ? { jitter: hint.jitter } : {}), observedTtl: { p50, p90 }, basis: 'observed' };
  }
  if (hint) return { ...base, ttlMs: hint.ttlMs, role: hint.role, ...('jitter' in hint ? { jitter: hint.jitter } : {}), basis: 'name' };
  return { ...base, role: 'durable', basis: 'review' };
}

/** First match wins: a rule goes before any broader rule that would match its keys. */
function orderBySpecificity(rules: SuggestedRule[]): SuggestedRule[] {
  const out: SuggestedRule[] = [];
  for (const rule of rules) {
    const probe = rule.match.replace(/\\(.)/g, '$1').replace(/\*/g, 'x1').replace(/\?/g, 'x');
    const at = out.findIndex((r) => compileGlob(r.match)(probe));
    if (at === -1) out.push(rule);
    else out.splice(at, 0, rule);
  }
  return out;
}

/** The suggestion as a commented `keywarden.yml` that `loadPolicy` accepts. */
export function policyYaml(s: PolicySuggestion, now = new Date()): string {
  const lines = [
    `# keywarden.yml: starter policy from a sample of ${formatCount(s.keysSampled)} of ${formatCount(s.dbsize)} keys on ${s.target}, ${now.toISOString().slice(0, 10)}.`,
    '# Review every rule before `keywarden fix --apply`: first match wins, and role: durable keys never get a TTL.',
    '# Rules marked REVIEW had no TTL and no telling name: they are durable until you decide otherwise.',
  ];
  if (s.otherKeys > 0) lines.push(`# ${formatCount(s.otherKeys)} sampled keys fell in small patterns with no rule: fix leaves them alone.`);
  for (const w of s.withheld ?? []) {
    const why =
      w.reason === 'catch-all'
        ? 'a rule without a literal part would govern every key family, new ones included'
        : 'its glob also matches keys of other patterns';
    // JSON escaping keeps control bytes of hostile key names out of the file.
    lines.push(`# no rule for ${JSON.stringify(w.match)} (${formatCount(w.sampled)} sampled keys): ${why}; write one by hand if you need it.`);
  }
  lines.push('rules:');
  if (s.rules.length === 0) lines.push('  []');
  for (const r of s.rules) {
    lines.push(`  # ${comment(r)}`);
    lines.push(`  - match: ${yamlGlob(r.match)}`);
    if (r.ttlMs !== undefined) lines.push(`    ttl: ${formatDuration(r.ttlMs)}`);
    if (r.role) lines.push(`    role: ${r.role}`);
    if (r.jitter) lines.push(`    jitter: ${Math.round(r.jitter * 100)}%`);
  }
  // Alerts for `keywarden watch` out of the box (README: Alerts); tune them to the server.
  lines.push(
    'alerts:',
    `  noTtlKeys: ${ALERT_NO_TTL_KEYS}          # alert when more keys than this have no TTL`,
    '  memoryUsedRatio: 0.8       # alert at 80% of maxmemory',
    '  evictions: true            # alert on any eviction',
    '  noTtlGrowth: { window: 15m, minIncrease: 1000 }   # a pattern leaking keys without TTL',
  );
  return `${lines.join('\n')}\n`;
}

/** No-TTL keys above which watch alerts: doctor's default threshold. */
const ALERT_NO_TTL_KEYS = 1000;

function comment(r: SuggestedRule): string {
  const parts = [`~${formatCount(r.keys)} keys, ${formatBytes(r.bytes)}, ${Math.round(r.noTtlShare * 100)}% without TTL`];
  if (r.basis === 'observed' && r.observedTtl)
    parts.push(`TTLs seen: median ${formatDuration(round(r.observedTtl.p50))}, p90 ${formatDuration(round(r.observedTtl.p90))}`);
  if (r.basis === 'name') parts.push(`no TTL seen; ttl from the name (${r.role})`);
  if (r.basis === 'review') parts.push('REVIEW: no TTL seen, no telling name');
  if (r.examples.length > 0) parts.push(`e.g. ${r.examples.join(', ')}`);
  // displayKey escapes control bytes, so a key can never end the comment line.
  return parts.join('; ');
}

function round(ms: number): number {
  return ms >= HOUR ? Math.round(ms / MIN) * MIN : Math.round(ms / 1000) * 1000;
}

/**
 * A glob as a YAML double-quoted string, with invisible and reordering characters (bidi
 * overrides, zero-width spaces, tags) written as YAML escapes: the file reads safely in a
 * terminal and still matches the key's bytes once parsed.
 */
function yamlGlob(glob: string): string {
  return JSON.stringify(glob).replace(/[\p{Cf}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]/gu, (ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  });
}
