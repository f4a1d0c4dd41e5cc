/**
 * Turning zod issues into messages an operator can act on: `file:line: field: problem`,
 * with a hint. Every problem in the file is collected, so one run shows them all.
 */
import type { ZodIssue } from 'zod';
import { PolicyError } from '../errors.js';
import { show } from './duration.js';
import { knownFields, ROLES } from './schema.js';

export type IssuePath = readonly (string | number)[];

/** One validation problem. `line` is 1-based, when the policy came from a file. */
export interface PolicyIssue {
  path: IssuePath;
  field: string;
  message: string;
  hint: string;
  line?: number;
}

/** A policy that does not validate. `message` and `hint` describe the first problem; `issues` lists all. */
export class PolicyValidationError extends PolicyError {
  readonly issues: PolicyIssue[];

  constructor(issues: PolicyIssue[], where: string | undefined) {
    const [first] = issues;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    super(`${formatIssue(first, where)}${more}`, first.hint);
    this.issues = issues;
  }
}

/** `keywarden.yml:7: rules[1].ttl: '2x' is not a duration …` (line and file when known). */
export function formatIssue(issue: PolicyIssue, where: string | undefined): string {
  const location = [where, issue.line].filter((x) => x !== undefined).join(':');
  return `${location ? `${location}: ` : ''}${issue.field}: ${issue.message}`;
}

/** `['rules', 1, 'ttl']` → `rules[1].ttl`. */
export function fieldName(path: IssuePath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out || 'policy';
}

const FIELD_HINTS: Record<string, string> = {
  match: 'a Redis glob as a quoted string, e.g. match: "session:*" (quote globs that start with * or [)',
  rules: 'rules: is a list of rules, each starting with "- match:"',
  alerts: 'alerts: is a mapping, e.g. alerts: { noTtlKeys: 1000 }',
  noTtlKeys: 'a whole number of keys, e.g. noTtlKeys: 1000',
  evictions: 'true or false',
  noTtlGrowth: 'a mapping: noTtlGrowth: { window: 15m, minIncrease: 1000 }',
  minIncrease: 'a whole number of keys, e.g. minIncrease: 1000',
  policy: 'a policy is a mapping with rules: and alerts:, see the README',
};

/** Map zod issues (one zod issue may become several of ours) to PolicyIssues without lines. */
export function fromZodIssues(zodIssues: readonly ZodIssue[]): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const issue of zodIssues) {
    const path = issue.path;
    const last = String(path.filter((seg) => typeof seg === 'string').at(-1) ?? 'policy');
    const hint = FIELD_HINTS[last] ?? 'see the policy format in the README';
    const push = (p: IssuePath, message: string, h: string) => out.push({ path: p, field: fieldName(p), message, hint: h });
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) push([...path, key], 'unknown field', unknownFieldHint(key, knownFields(path)));
        break;
      case 'invalid_type':
        if (issue.received === 'undefined') push(path, 'is required', hint);
        else if (issue.expected === 'integer') push(path, 'must be a whole number', hint);
        else if (path.length === 0) push(path, `expected a mapping with rules: and alerts:, got ${issue.received}`, hint);
        else push(path, `expected ${article(issue.expected)}, got ${issue.received}`, hint);
        break;
      case 'invalid_enum_value':
        push(path, `${show(issue.received)} is not a role (${ROLES.join(', ')})`, 'durable means "never expire"; any other role needs a ttl:');
        break;
      case 'custom':
        push(path, issue.message, (issue.params?.hint as string | undefined) ?? hint);
        break;
      default:
        push(path, issue.message, hint);
    }
  }
  return out;
}

function article(type: string): string {
  if (type === 'array') return 'a list';
  if (type === 'object') return 'a mapping';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function unknownFieldHint(key: string, known: string[]): string {
  const close = known
    .map((name) => ({ name, d: editDistance(key.toLowerCase(), name.toLowerCase()) }))
    .filter((c) => c.d <= Math.max(1, Math.floor(c.name.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  const list = `known fields here: ${known.join(', ')}`;
  return close ? `did you mean ${close.name}? (${list})` : list;
}

/** Levenshtein distance, for typo suggestions (`tll` → `ttl`). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
