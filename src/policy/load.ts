/**
 * Loading a policy: from `keywarden.yml` (with line numbers in every error), from a JS object
 * (the guard's `policy` option), or ad hoc from `--match GLOB --ttl DURATION`.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Alias, Document, LineCounter, Node as YamlNode } from 'yaml';
import { PolicyError } from '../errors.js';
import { parseDuration, show } from './duration.js';
import { fromZodIssues, PolicyValidationError, type IssuePath, type PolicyIssue } from './issues.js';
import { assertKeyTtl } from './min-ttl.js';
import { policySchema, type Policy, type PolicyAlerts, type PolicyRule } from './schema.js';

/**
 * The YAML parser, loaded on first use: most CLI runs never read a policy file, and loading
 * `yaml` costs 20–30 ms of every start.
 */
let yamlModule: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

/** Largest policy file read: thousands of rules, far beyond any real one. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** Most rules in one policy: each key is matched against them in order. */
export const MAX_RULES = 10_000;
/** Alias uses expanded at most (yaml's own default, named here so the message can say it). */
const MAX_ALIAS_COUNT = 100;

/** Policies built here; `policyFromObject` passes them through instead of re-validating. */
const built = new WeakSet<Policy>();

/**
 * Parse and validate a policy from YAML text.
 *
 * @param file name used in messages and kept as `policy.file` (default in messages: `policy`).
 * @throws PolicyValidationError (a PolicyError) whose message names file, line and field, e.g.
 *   `keywarden.yml:7: rules[1].ttl: '2x' is not a duration (use 500ms, 90s, 30m, 24h, 7d or seconds)`,
 *   and whose `issues` lists every problem found.
 */
export function parsePolicy(text: string, file?: string): Policy {
  const where = file ?? 'policy';
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) throw yamlSyntaxError(doc, lineCounter, where);
  const data = toJS(doc, lineCounter, where) ?? {};
  checkShape(data, where);
  const result = policySchema.safeParse(data);
  if (!result.success) {
    const issues = fromZodIssues(result.error.issues).map((issue) => ({ ...issue, line: lineOf(doc, issue.path, lineCounter) }));
    // A typo'd field (`tll:`) also makes the rule lack a ttl: report the typo, the cause, first.
    const rank = (i: PolicyIssue) => (i.message === 'unknown field' ? 0 : 1);
    issues.sort((a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0));
    throw new PolicyValidationError(issues, where);
  }
  const lines = (result.data.rules ?? []).map((_, i) => lineOf(doc, ['rules', i], lineCounter));
  return build(result.data, file, lines);
}

/** A policy with more rules than any real one is refused by name. */
function checkShape(data: unknown, where: string): void {
  const obj = (typeof data === 'object' && data !== null ? data : {}) as { rules?: unknown; alerts?: unknown };
  const rules = Array.isArray(obj.rules) ? obj.rules.length : 0;
  if (rules > MAX_RULES) {
    throw new PolicyValidationError(
      [
        {
          path: ['rules'],
          field: 'rules',
          message: `${rules} rules: more than the ${MAX_RULES} a policy may have`,
          hint: 'a policy needs one rule per key pattern (session:*), not one per key',
        },
      ],
      where,
    );
  }
}

/**
 * Read and parse a policy file.
 * @throws PolicyError when the file is missing or unreadable (the hint says how to create one), or invalid.
 */
export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    // A policy is a few kilobytes: refuse a huge file (or a device) before reading it, so
    // a mistake costs no memory and nothing runs with half a policy.
    const info = await stat(path);
    if (info.isFile() && info.size > MAX_POLICY_BYTES) {
      throw new PolicyError(
        `policy file ${path} is ${(info.size / 1024 / 1024).toFixed(1)} MiB: larger than the ${MAX_POLICY_BYTES / 1024} KiB keywarden reads`,
        'a policy needs one rule per key pattern, not per key: check --policy names the right file',
      );
    }
    if (!info.isFile() && !info.isDirectory()) throw new PolicyError(`policy file ${path} is not a regular file`, 'give --policy a keywarden.yml file');
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(code ?? err);
    throw new PolicyError(
      `cannot read policy file ${path}: ${reason}`,
      code === 'ENOENT'
        ? 'check --policy, or write a starter policy with: keywarden policy init [url] > keywarden.yml'
        : 'check the path and its permissions (--policy)',
      { cause: err },
    );
  }
  const policy = parsePolicy(text, path);
  // An empty file given with --policy is a mistake (the wrong file, a failed redirect), not a
  // request to do nothing: say so instead of running without rules.
  if (policy.rules.length === 0 && Object.keys(policy.alerts).length === 0) {
    throw new PolicyError(
      `policy file ${path} has no rules (and no alerts): it would change nothing`,
      'add rules, e.g.  rules: [{ match: "session:*", ttl: 24h }]  (keywarden policy init writes a starter)',
    );
  }
  return policy;
}

/**
 * Validate a policy given as a JS object, in the same shape as the YAML (for the guard and
 * other library callers). `ttl` may be seconds or a duration string; `jitter` a fraction or
 * `'10%'`. A Policy returned by this module is accepted as is, and a copy of one (spread,
 * structuredClone) is recognised by its millisecond fields and validated again.
 *
 * @param source names the origin in messages, e.g. `guard options.policy`.
 * @throws PolicyValidationError naming the source and field.
 */
export function policyFromObject(input: unknown, source = 'policy object'): Policy {
  if (typeof input === 'object' && input !== null && built.has(input as Policy)) return input as Policy;
  const result = policySchema.safeParse(asYamlShape(input) ?? {});
  if (!result.success) throw new PolicyValidationError(fromZodIssues(result.error.issues), source);
  return build(result.data);
}

/**
 * A one-rule policy for ad-hoc CLI use: `keywarden fix --match GLOB --ttl 1h`.
 * @throws PolicyError naming the flag (`--match` or `--ttl`).
 */
export function adHocPolicy(match: string, ttl: string): Policy {
  if (!match) throw new PolicyError('--match: the glob is empty', 'give a Redis glob, e.g. --match "session:*"');
  let ttlMs: number;
  try {
    ttlMs = parseDuration(ttl);
  } catch (err) {
    throw new PolicyError(`--ttl: ${(err as PolicyError).message}`, (err as PolicyError).hint);
  }
  assertKeyTtl(ttlMs, `--ttl ${show(ttl)}`, '--ttl 1h');
  const policy: Policy = { rules: [{ index: 0, match, ttlMs }], alerts: {} };
  built.add(policy);
  return policy;
}

/**
 * A copy of a Policy (spread, structuredClone, sent to a worker) is no longer in `built`:
 * turn its millisecond fields back into the YAML shape so it validates like the original.
 * Recognised by `index`/`ttlMs` on a rule or `*Ms` alert fields, which the YAML shape never has.
 */
function asYamlShape(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input;
  const { rules, alerts, file: _file, ...rest } = input as Partial<Record<keyof Policy, unknown>> & Record<string, unknown>;
  const ruleList = Array.isArray(rules) ? (rules as Record<string, unknown>[]) : [];
  const alertObj = (typeof alerts === 'object' && alerts !== null ? alerts : {}) as Record<string, unknown>;
  const policyShaped =
    ruleList.some((r) => typeof r === 'object' && r !== null && ('ttlMs' in r || 'index' in r || 'line' in r)) ||
    'timeToFullMs' in alertObj ||
    'repeatIntervalMs' in alertObj;
  if (!policyShaped) return input;
  const ms = (v: unknown) => (typeof v === 'number' ? `${v}ms` : v);
  const out: Record<string, unknown> = { ...rest };
  out.rules = ruleList.map((r) => {
    const { index: _i, line: _l, ttlMs, ...fields } = r;
    return ttlMs === undefined ? fields : { ...fields, ttl: ms(ttlMs) };
  });
  if (alerts !== undefined) {
    const { timeToFullMs, repeatIntervalMs, noTtlGrowth, ...fields } = alertObj;
    const a: Record<string, unknown> = { ...fields };
    if (timeToFullMs !== undefined) a.timeToFull = ms(timeToFullMs);
    if (repeatIntervalMs !== undefined) a.repeatInterval = ms(repeatIntervalMs);
    if (typeof noTtlGrowth === 'object' && noTtlGrowth !== null) {
      a.noTtlGrowth = { ...noTtlGrowth, window: ms((noTtlGrowth as { window?: unknown }).window) };
    } else if (noTtlGrowth !== undefined) a.noTtlGrowth = noTtlGrowth;
    out.alerts = a;
  }
  return out;
}

type Parsed = NonNullable<ReturnType<typeof policySchema.safeParse>['data']>;

function build(data: Parsed, file?: string, lines: (number | undefined)[] = []): Policy {
  const rules: PolicyRule[] = (data.rules ?? []).map((r, index) => {
    const rule: PolicyRule = { index, match: r.match };
    if (r.ttl !== undefined) rule.ttlMs = r.ttl;
    if (r.role !== undefined) rule.role = r.role;
    if (r.jitter !== undefined) rule.jitter = r.jitter;
    if (lines[index] !== undefined) rule.line = lines[index];
    return rule;
  });
  const a = data.alerts ?? {};
  const alerts: PolicyAlerts = {};
  if (a.noTtlKeys !== undefined) alerts.noTtlKeys = a.noTtlKeys;
  if (a.memoryUsedRatio !== undefined) alerts.memoryUsedRatio = a.memoryUsedRatio;
  if (a.evictions !== undefined) alerts.evictions = a.evictions;
  if (a.noTtlGrowth !== undefined) alerts.noTtlGrowth = a.noTtlGrowth;
  if (a.timeToFull !== undefined) alerts.timeToFullMs = a.timeToFull;
  if (a.repeatInterval !== undefined) alerts.repeatIntervalMs = a.repeatInterval;
  const policy: Policy = { rules, alerts };
  if (file !== undefined) policy.file = file;
  built.add(policy);
  return policy;
}

/** `doc.toJS()`, except that an alias to no anchor (an unquoted `*glob`) becomes a located PolicyError. */
function toJS(doc: Document, lineCounter: LineCounter, where: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // yaml stops expanding aliases that multiply (a "billion laughs" file): say so.
    if (/alias count/i.test((err as Error).message)) {
      throw new PolicyValidationError(
        [
          {
            path: [],
            field: 'YAML',
            message: `its aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} alias uses): a policy never needs that`,
            hint: 'write the rules out without YAML anchors and aliases (&name / *name)',
          },
        ],
        where,
      );
    }
    let alias: Alias | undefined;
    yaml().visit(doc, {
      Alias: (_, node) => {
        alias ??= node;
      },
    });
    const line = alias?.range ? lineCounter.linePos(alias.range[0]).line : undefined;
    const source = alias ? `*${alias.source}` : 'an alias';
    throw new PolicyValidationError(
      [
        {
          path: [],
          field: 'YAML',
          line,
          message: `${source} is a YAML alias to no anchor (an unquoted value starting with * is an alias)`,
          hint: 'quote globs that start with * or [, e.g. match: "*:session"',
        },
      ],
      where,
    );
  }
}

function yamlSyntaxError(doc: Document, lineCounter: LineCounter, where: string): PolicyValidationError {
  const issues: PolicyIssue[] = doc.errors.map((err) => {
    const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
    // An unquoted glob starting with * is a YAML alias; one starting with [ is a list.
    const aliasy = /alias/i.test(err.message);
    return {
      path: [],
      field: 'YAML',
      line,
      message: err.message.split('\n')[0],
      hint: aliasy ? 'quote globs that start with * or [, e.g. match: "*:session"' : 'fix the YAML syntax (indentation, quotes, colons)',
    };
  });
  return new PolicyValidationError(issues, where);
}

/**
 * 1-based line of the deepest node on `path` that exists in the document: the key's line for
 * a mapping entry (so a missing or unknown field points at its parent or itself).
 */
function lineOf(doc: Document, path: IssuePath, lineCounter: LineCounter): number | undefined {
  const at = (node: YamlNode | null | undefined): number | undefined => (node?.range ? lineCounter.linePos(node.range[0]).line : undefined);
  const { isMap, isScalar, isSeq } = yaml();
  let node: unknown = doc.contents;
  let line = at(doc.contents as YamlNode | null);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      line = at(pair.key as YamlNode) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) break;
      line = at(item) ?? line;
      node = item;
    } else {
      break;
    }
  }
  return line;
}
