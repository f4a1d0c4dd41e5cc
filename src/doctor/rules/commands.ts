/**
 * What the slowlog says clients run: KEYS and FLUSH* in production, and O(N) commands that
 * read or delete whole big keys.
 */
import { displayKey } from '../../display.js';
import { formatCount } from '../format.js';
import { need } from '../facts.js';
import type { NodeRule } from '../types.js';

const BLOCKING = new Set(['KEYS', 'FLUSHALL', 'FLUSHDB']);
/** Commands whose cost grows with the key (or keyspace) they touch. */
const WHOLE_KEY = new Set([
  'HGETALL',
  'HKEYS',
  'HVALS',
  'SMEMBERS',
  'SUNION',
  'SINTER',
  'SDIFF',
  'SUNIONSTORE',
  'SINTERSTORE',
  'SDIFFSTORE',
  'LRANGE',
  'ZRANGE',
  'ZRANGEBYSCORE',
  'ZREVRANGE',
  'ZUNIONSTORE',
  'ZINTERSTORE',
  'SORT',
  'DEL',
  'XRANGE',
  'LREM',
  'LINDEX',
  'LSET',
]);

const dangerousInSlowlog: NodeRule = {
  id: 'dangerous-commands-in-slowlog',
  scope: 'node',
  severity: 'warning',
  title: 'KEYS, FLUSH* or whole-key reads in the slowlog',
  why: 'Redis runs one command at a time: KEYS and FLUSH* walk the whole keyspace and O(N) commands on big keys hold every other client for their full duration.',
  check({ node }) {
    const entries = need(node, 'slowlog').filter((e) => e.clientName !== 'keywarden' && e.args.length > 0);
    const offending = entries.filter((e) => {
      const command = e.args[0].toUpperCase();
      return BLOCKING.has(command) || WHOLE_KEY.has(command);
    });
    if (offending.length === 0) return undefined;
    const byCommand = new Map<string, { count: number; maxUs: number; example: string }>();
    for (const e of offending) {
      const command = e.args[0].toUpperCase();
      const seen = byCommand.get(command) ?? { count: 0, maxUs: 0, example: '' };
      seen.count++;
      if (e.durationUs >= seen.maxUs) {
        seen.maxUs = e.durationUs;
        // Only the command and its first argument (a key or pattern): never values or secrets.
        seen.example = e.args[1] === undefined ? command : `${command} ${displayKey(e.args[1], 80)}`;
      }
      byCommand.set(command, seen);
    }
    const ranked = [...byCommand.entries()].sort((a, b) => b[1].maxUs - a[1].maxUs);
    return {
      detail: ranked.map(([c, s]) => `${c} ×${formatCount(s.count)} (slowest ${(s.maxUs / 1000).toFixed(1)} ms: ${s.example})`).join('; '),
      evidence: {
        commands: ranked.map(([c]) => c),
        counts: ranked.map(([, s]) => s.count),
        slowestMs: ranked.map(([, s]) => Math.round(s.maxUs) / 1000),
        examples: ranked.map(([, s]) => s.example),
        entriesRead: entries.length,
      },
    };
  },
  fix(hit) {
    const commands = hit.evidence.commands as string[];
    const lines: string[] = [];
    if (commands.includes('KEYS')) lines.push('replace KEYS with SCAN (cursor, COUNT 1000) in the application; for audits use keywarden scan');
    if (commands.some((c) => c.startsWith('FLUSH')))
      lines.push('FLUSHALL/FLUSHDB ASYNC if it must run; take it away from applications: ACL SETUSER <app> -flushall -flushdb');
    if (commands.some((c) => WHOLE_KEY.has(c)))
      lines.push('read big keys incrementally (HSCAN, SSCAN, ZSCAN, LRANGE with bounds) and delete them with UNLINK; see big-keys');
    lines.push('block them outright: redis.conf rename-command KEYS "" (or ACL -keys for application users)');
    return lines;
  },
};

export const commandRules = [dangerousInSlowlog] as const satisfies readonly NodeRule[];
