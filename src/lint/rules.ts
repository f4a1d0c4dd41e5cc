/**
 * The lint rules, over the language-neutral facts a front end extracted from one file:
 *
 * - `no-ttl`: a call that can create a key without a TTL, and no EXPIRE of the same key
 *   expression later in the same function.
 * - `non-atomic-expire`: there is such an EXPIRE, but in another round trip (not queued in the
 *   same pipeline or MULTI as the write): a crash between the two leaks the key.
 * - `ttl-zero`: an explicit TTL that the API reads as "never expires".
 *
 * Keys whose glob falls under a `durable` policy rule are meant to live forever and are not
 * reported; a rule's `ttl` is the TTL the fix text proposes.
 */
import type { PolicyMatcher, PolicyRule } from '../policy/index.js';
import type { FileFacts, LintFinding, RedisCall, RuleId, Span, Suppression } from './types.js';

export interface RuleContext {
  file: string;
  matcher?: PolicyMatcher;
}

const before = (a: Span, b: Span): boolean => a.line < b.line || (a.line === b.line && a.column < b.column);

/** Whether two key expressions name the same key: same source text, or the same exact key. */
const sameKey = (a: RedisCall, b: RedisCall): boolean => a.key.text === b.key.text || (a.key.exact && b.key.exact && a.key.glob === b.key.glob);

/** The TTL to propose, in seconds, and where it comes from. */
function proposedTtl(rule: PolicyRule | undefined): { seconds: string; source: string } {
  if (rule?.ttlMs !== undefined) return { seconds: String(Math.max(1, Math.round(rule.ttlMs / 1000))), source: ` (policy rule '${rule.match}')` };
  return { seconds: '<seconds>', source: '' };
}

function fixText(call: RedisCall, rule: PolicyRule | undefined): string {
  const { seconds, source } = proposedTtl(rule);
  if (call.command === 'SET') return `give the SET its TTL in the same call: SET ${call.key.text} … EX ${seconds}${source}`;
  return `queue EXPIRE ${call.key.text} ${seconds} NX right after ${call.command}, in the same MULTI${source}`;
}

function classify(call: RedisCall, calls: RedisCall[], rule: PolicyRule | undefined): { rule: RuleId; message: string; fix: string } | undefined {
  if (call.ttl === 'zero') {
    const { seconds, source } = proposedTtl(rule);
    return {
      rule: 'ttl-zero',
      message: `${call.command} with a TTL that means "never expires" for ${call.client}: key ${call.key.glob} will live forever`,
      fix: `${call.zeroHint ?? 'pass a positive TTL'}: ${seconds} seconds${source}`,
    };
  }
  if (call.ttl !== 'none') return undefined;
  const expires = calls.filter((e) => e.ttl === 'expire' && e.scope === call.scope && before(call.span, e.span) && sameKey(call, e));
  if (expires.length === 0) {
    return {
      rule: 'no-ttl',
      message: `${call.command} creates key ${call.key.glob} without a TTL, and nothing in this function expires it`,
      fix: fixText(call, rule),
    };
  }
  if (call.batch !== undefined && expires.some((e) => e.batch === call.batch)) return undefined;
  const { seconds } = proposedTtl(rule);
  return {
    rule: 'non-atomic-expire',
    message: `${call.command} and its EXPIRE on ${call.key.glob} are separate round trips: a crash between them leaves the key without a TTL`,
    fix:
      call.command === 'SET'
        ? `set the TTL in the same call: SET ${call.key.text} … EX ${seconds}`
        : `send both in one MULTI, or create the key with its TTL first (SET ${call.key.text} 0 EX ${seconds} NX, then ${call.command}), or use EXPIRE ${call.key.text} ${seconds} NX in the same MULTI`,
  };
}

const suppresses = (s: Suppression, rule: RuleId): boolean => s.reason.length > 0 && s.rules.includes(rule);

/** The findings for one file, suppressions applied, in source order. */
export function checkFile(facts: FileFacts, ctx: RuleContext): LintFinding[] {
  const findings: LintFinding[] = [];
  const byLine = new Map<number, Suppression[]>();
  for (const s of facts.suppressions) byLine.set(s.line, [...(byLine.get(s.line) ?? []), s]);
  for (const call of facts.calls) {
    const policyRule = ctx.matcher?.match(call.key.glob);
    if (policyRule?.role === 'durable') continue;
    const verdict = classify(call, facts.calls, policyRule);
    if (!verdict) continue;
    if ((byLine.get(call.span.line) ?? []).some((s) => suppresses(s, verdict.rule))) continue;
    findings.push({
      file: ctx.file,
      ...call.span,
      rule: verdict.rule,
      language: facts.language,
      client: call.client,
      key: call.key.text,
      pattern: call.key.glob,
      message: verdict.message,
      fix: verdict.fix,
    });
  }
  for (const s of facts.suppressions) {
    if (s.reason.length > 0) continue;
    findings.push({
      file: ctx.file,
      ...s.span,
      rule: 'suppression-without-reason',
      language: facts.language,
      client: '',
      key: '',
      pattern: '',
      message: `keywarden-ignore-next-line ${s.rules.join(',')} has no reason, so it suppresses nothing`,
      fix: `say why after two dashes: keywarden-ignore-next-line ${s.rules.join(',') || 'no-ttl'} -- <reason>`,
    });
  }
  return findings.sort((a, b) => a.line - b.line || a.column - b.column);
}
