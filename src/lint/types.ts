/**
 * What `keywarden lint` reports, and the language-neutral facts a language front end hands
 * to the rules: the Redis calls it found in a file, each resolved to a client, a key
 * expression, a function scope and (when queued) a pipeline or transaction.
 */

/** Rule ids are a contract: suppressions, SARIF and CI configurations name them. */
export const RULE_IDS = ['no-ttl', 'non-atomic-expire', 'ttl-zero', 'suppression-without-reason'] as const;
export type RuleId = (typeof RULE_IDS)[number];

export type Language = 'javascript' | 'typescript' | 'python' | 'go' | 'java' | 'ruby';

/** A key argument: its source text (to pair a write with its EXPIRE) and the glob it resolves to. */
export interface KeyExpr {
  /** The expression's source text with whitespace removed: `key`, `` `s:${id}` ``. */
  text: string;
  /** Redis glob of the keys it can name: `session:${id}` → `session:*`; `*` when unknown. */
  glob: string;
  /** True when every part was resolved (a literal, or constants only): then `glob` is the key. */
  exact: boolean;
}

/** Source range, 1-based lines and columns (columns in UTF-16 units, like editors and SARIF). */
export interface Span {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/**
 * One Redis call a front end found. `ttl` says what the call itself does to the key's TTL:
 * `given` (SET … EX, SETEX, a cache TTL), `none` (creates a key without one), `zero` (a TTL
 * the API reads as "never expires"), `expire` (EXPIRE and friends: gives the key a TTL).
 */
export interface RedisCall {
  command: string;
  ttl: 'given' | 'none' | 'zero' | 'expire';
  client: string;
  key: KeyExpr;
  span: Span;
  /** The function (or file top level) the call is in: EXPIRE only pairs within one. */
  scope: number;
  /** The pipeline or MULTI the call is queued in, if any: calls in one batch travel together. */
  batch?: number;
  /** How to write the zero TTL properly in this API, for `ttl: 'zero'`. */
  zeroHint?: string;
}

/** `keywarden-ignore-next-line <rules> -- <reason>`, by the line it applies to. */
export interface Suppression {
  /** The line whose findings it suppresses (the comment's line + 1). */
  line: number;
  rules: string[];
  reason: string;
  span: Span;
}

/** What a front end extracts from one file. */
export interface FileFacts {
  language: Language;
  calls: RedisCall[];
  suppressions: Suppression[];
  /** Syntax errors: the file is reported as not analysed rather than silently passed. */
  parseError?: string;
}

export interface LintFinding extends Span {
  file: string;
  rule: RuleId;
  language: Language;
  /** The client library the call was attributed to: `ioredis`, `node-redis`, `keyv`, … */
  client: string;
  /** The key expression as written. */
  key: string;
  /** The Redis glob it resolves to, as matched against the policy. */
  pattern: string;
  message: string;
  fix: string;
}

/** The `--json` document. */
export interface LintReport {
  kind: 'keywarden.lint';
  schemaVersion: 1;
  findings: LintFinding[];
  filesScanned: number;
  /** Files that could not be parsed: listed, never silently passed. */
  filesSkipped: { file: string; reason: string }[];
  durationMs: number;
}
