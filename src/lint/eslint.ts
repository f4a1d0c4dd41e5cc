/**
 * `keywarden/eslint`: the lint rules as an ESLint flat-config plugin, for JavaScript and
 * TypeScript. The plugin runs the CLI's own front end on ESLint's AST (any ESTree parser:
 * espree, typescript-eslint) and the CLI's rules, so findings and messages are the same.
 *
 * ```js
 * // eslint.config.js
 * import keywarden from 'keywarden/eslint';
 * export default [keywarden.configs.recommended];
 * // or: { plugins: { keywarden }, rules: { 'keywarden/no-ttl': ['error', { policy: 'keywarden.yml' }] } }
 * ```
 */
import { readFileSync } from 'node:fs';
import type { ESLint, Linter, Rule } from 'eslint';
import { createMatcher, parsePolicy, type PolicyMatcher } from '../policy/index.js';
import type { EsNode } from './js/ast.js';
import { extractJs, type EsComment } from './js/extract.js';
import { checkFile } from './rules.js';
import type { LintFinding, RuleId } from './types.js';

const DOCS: Record<'no-ttl' | 'non-atomic-expire' | 'ttl-zero', string> = {
  'no-ttl': 'Redis writes that create a key without a TTL',
  'non-atomic-expire': 'a key and its EXPIRE sent in two round trips',
  'ttl-zero': 'an explicit TTL that means "never expires"',
};

const matchers = new Map<string, PolicyMatcher>();

/** The policy named by the rule's `policy` option, read once per file path (ESLint rules are synchronous). */
function matcherFor(path: string | undefined): PolicyMatcher | undefined {
  if (path === undefined) return undefined;
  let matcher = matchers.get(path);
  if (!matcher) {
    matcher = createMatcher(parsePolicy(readFileSync(path, 'utf8'), path));
    matchers.set(path, matcher);
  }
  return matcher;
}

/** Findings per source text: the three rules share one extraction per file. */
const cache = new WeakMap<object, { policy: string | undefined; findings: LintFinding[] }>();

function findingsOf(context: Rule.RuleContext, program: EsNode, policy: string | undefined): LintFinding[] {
  const source = context.sourceCode;
  const cached = cache.get(source);
  if (cached && cached.policy === policy) return cached.findings;
  const language = /\.[cm]?tsx?$/.test(context.filename) ? 'typescript' : 'javascript';
  const facts = extractJs({ program, comments: source.getAllComments() as unknown as EsComment[], source: source.text, language });
  const findings = checkFile(facts, { file: context.filename, matcher: matcherFor(policy) });
  cache.set(source, { policy, findings });
  return findings;
}

function rule(id: RuleId & keyof typeof DOCS): Rule.RuleModule {
  return {
    meta: {
      type: 'problem',
      docs: { description: `Disallow ${DOCS[id]}` },
      schema: [{ type: 'object', properties: { policy: { type: 'string' } }, additionalProperties: false }],
      messages: { finding: '{{message}}. Fix: {{fix}}' },
    },
    create(context) {
      const policy = (context.options[0] as { policy?: string } | undefined)?.policy;
      return {
        Program(node) {
          // Suppressions without a reason are reported once, by no-ttl.
          const wanted = (f: LintFinding) => f.rule === id || (id === 'no-ttl' && f.rule === 'suppression-without-reason');
          for (const f of findingsOf(context, node as unknown as EsNode, policy).filter(wanted)) {
            context.report({
              loc: { start: { line: f.line, column: f.column - 1 }, end: { line: f.endLine, column: f.endColumn - 1 } },
              messageId: 'finding',
              data: { message: f.message, fix: f.fix },
            });
          }
        },
      };
    },
  };
}

const rules = { 'no-ttl': rule('no-ttl'), 'non-atomic-expire': rule('non-atomic-expire'), 'ttl-zero': rule('ttl-zero') };

const plugin: ESLint.Plugin & { configs: { recommended: Linter.Config } } = {
  meta: { name: 'keywarden' },
  rules,
  configs: { recommended: {} as Linter.Config },
};
plugin.configs.recommended = {
  name: 'keywarden/recommended',
  plugins: { keywarden: plugin },
  rules: { 'keywarden/no-ttl': 'error', 'keywarden/non-atomic-expire': 'error', 'keywarden/ttl-zero': 'error' },
};

export default plugin;
