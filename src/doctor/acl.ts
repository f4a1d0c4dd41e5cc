/**
 * Which dangerous commands an ACL user may run. Live servers (Redis 7+) answer exactly with
 * ACL DRYRUN; Redis 6 and offline `user` directives are evaluated here from the rule list,
 * left to right as Redis applies them, for the few commands and categories that matter.
 */
import type { AclUser } from './facts.js';

/** Commands an application user should not be able to run, with a harmless argument list for DRYRUN. */
export const DANGEROUS_COMMANDS: Record<string, string[]> = {
  FLUSHALL: [],
  FLUSHDB: [],
  CONFIG: ['SET', 'maxmemory', '0'],
  DEBUG: ['SLEEP', '0'],
  KEYS: ['*'],
};

/** The ACL categories each dangerous command belongs to (COMMAND INFO, Redis 7). */
const CATEGORIES: Record<string, string[]> = {
  FLUSHALL: ['@all', '@keyspace', '@write', '@slow', '@dangerous'],
  FLUSHDB: ['@all', '@keyspace', '@write', '@slow', '@dangerous'],
  CONFIG: ['@all', '@admin', '@slow', '@dangerous'],
  DEBUG: ['@all', '@admin', '@slow', '@dangerous'],
  KEYS: ['@all', '@keyspace', '@read', '@slow', '@dangerous'],
};

/** Evaluate `+cmd -cmd +@cat -@cat allcommands nocommands` rules for each dangerous command. */
export function dangerousAllowedByRules(rules: string[]): string[] {
  const allowed = new Set<string>();
  for (const raw of rules) {
    const rule = raw.toLowerCase();
    const sign = rule[0];
    const name = rule.slice(1);
    for (const command of Object.keys(CATEGORIES)) {
      const hits =
        rule === 'allcommands' || rule === 'nocommands' || rule === 'reset'
          ? true
          : (sign === '+' || sign === '-') && (name.split('|')[0] === command.toLowerCase() || CATEGORIES[command].includes(name));
      if (!hits) continue;
      if (rule === 'allcommands' || sign === '+') allowed.add(command);
      else allowed.delete(command);
    }
  }
  return [...allowed];
}

/** Parse one `ACL LIST` line or `user` directive: `user <name> on nopass ~* +@all`. */
export function parseAclRules(words: string[]): { name: string; enabled: boolean; nopass: boolean; rules: string[] } {
  const [, name = 'default', ...rules] = words;
  let enabled = false;
  let nopass = false;
  for (const r of rules) {
    if (r === 'on') enabled = true;
    else if (r === 'off') enabled = false;
    else if (r === 'nopass') nopass = true;
    else if (r === 'resetpass' || r.startsWith('>') || r.startsWith('#')) nopass = false;
    else if (r === 'reset') {
      enabled = false;
      nopass = false;
    }
  }
  return { name, enabled, nopass, rules };
}

/** An AclUser from its rules (no DRYRUN available). */
export function aclUserFromRules(words: string[]): AclUser {
  const { name, enabled, nopass, rules } = parseAclRules(words);
  return { name, enabled, nopass, dangerous: enabled ? dangerousAllowedByRules(rules) : [] };
}
