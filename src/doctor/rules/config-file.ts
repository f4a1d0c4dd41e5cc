/**
 * Lint of a redis.conf read offline: directives given twice (only the last counts) and lines
 * redis-server would refuse to read.
 */
import type { NodeRule } from '../types.js';
import { MissingFacts } from '../facts.js';

const duplicateDirective: NodeRule = {
  id: 'conf-duplicate-directive',
  scope: 'node',
  severity: 'warning',
  title: 'A redis.conf directive is set more than once',
  why: 'Only the last occurrence counts: an edit to the first one (often in an included file) silently does nothing.',
  check({ node }) {
    if (node.source !== 'conf') return undefined;
    if (!node.confLint) throw new MissingFacts('needs --config');
    const dups = node.confLint.duplicates.filter((d) => new Set(d.values).size > 1 || d.at.length > 1);
    if (dups.length === 0) return undefined;
    return {
      detail: dups.map((d) => `${d.name} at ${d.at.join(', ')} (effective: ${d.values[d.values.length - 1]})`).join('; '),
      evidence: { directives: dups.map((d) => d.name), locations: dups.map((d) => d.at.join(', ')) },
    };
  },
  fix(hit) {
    return (hit.evidence.directives as string[]).map((d) => `keep one '${d}' line and delete the others`);
  },
};

const unreadableLines: NodeRule = {
  id: 'conf-unreadable-lines',
  scope: 'node',
  severity: 'critical',
  title: 'redis.conf has lines redis-server refuses',
  why: 'redis-server refuses to start on a line it cannot parse, an unknown directive or a bad value; a missing include file leaves its settings out.',
  check({ node }) {
    if (node.source !== 'conf' || !node.confLint || node.confLint.problems.length === 0) return undefined;
    return {
      detail: node.confLint.problems.map((p) => `${p.at}: ${p.message}`).join('; '),
      evidence: { problems: node.confLint.problems.map((p) => `${p.at}: ${p.message}`) },
    };
  },
  fix() {
    return [
      'fix each line named: the directive name (redis.conf of your Redis version lists them), its value (yes/no, a size such as 2gb), or its quoting (a closing quote must be followed by a space)',
      'check a file before a restart: redis-server <file> --port 0 exits at once on a bad line',
    ];
  },
};

export const configFileRules = [duplicateDirective, unreadableLines] as const satisfies readonly NodeRule[];
