/**
 * Exposure: no password, protected mode off, listening on every interface, and application
 * users allowed to run the commands that wipe or reconfigure a server.
 */
import { MissingFacts, setting, type NodeFacts } from '../facts.js';
import type { NodeRule } from '../types.js';

/** The default user logs in without a password (ACL), else requirepass is empty. */
function authDisabled(node: NodeFacts): boolean {
  const user = node.acl?.find((u) => u.name === 'default');
  if (user) return user.enabled && user.nopass;
  if (node.acl) return false;
  try {
    return setting(node, 'requirepass') === '';
  } catch {
    throw new MissingFacts(node.unavailable.acl ?? node.unavailable.config ?? 'needs ACL LIST or CONFIG GET requirepass');
  }
}

/** Addresses that mean "every interface". An empty bind in redis.conf is Redis' default: all of them. */
function bindsAll(node: NodeFacts): boolean {
  const bind = setting(node, 'bind').trim();
  if (bind === '') return true;
  return bind.split(/\s+/).some((a) => a === '*' || a === '0.0.0.0' || a === '::' || a === '-::*' || a === '::*');
}

/**
 * Whether hosts other than this one can use the server. Since Redis 3.2, protected-mode (on
 * by default) refuses every connection that is not from loopback while the default user has
 * no password, whatever `bind` says: such a server is reachable only locally until a password
 * is set or protected-mode is turned off.
 */
function usableFromOtherHosts(node: NodeFacts): boolean {
  if (!bindsAll(node) && !bindsBeyondLoopback(node)) return false;
  return !(authDisabled(node) && setting(node, 'protected-mode') !== 'no');
}

function bindsBeyondLoopback(node: NodeFacts): boolean {
  return setting(node, 'bind')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .some((a) => !/^-?(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(a));
}

const authDisabledRule: NodeRule = {
  id: 'auth-disabled',
  scope: 'node',
  severity: 'warning',
  title: 'No password: anyone who reaches the port has full access',
  why: 'Any process or person that can open a connection can read every key, FLUSHALL, or CONFIG SET its way to writing files on the host.',
  check({ node }) {
    if (!authDisabled(node)) return undefined;
    let exposed = false;
    try {
      exposed = usableFromOtherHosts(node) || (setting(node, 'protected-mode') === 'no' && bindsBeyondLoopback(node));
    } catch {
      // Without CONFIG the exposure is unknown; the finding stands at its base severity.
    }
    return {
      severity: exposed ? 'critical' : 'warning',
      detail: `the default user has no password${exposed ? ' and the server accepts connections from other hosts' : ''}`,
      evidence: { defaultUserNopass: true, reachableFromOtherHosts: exposed },
    };
  },
  fix() {
    return [
      'ACL SETUSER default on >"<long random password>" (then ACL SAVE, or CONFIG REWRITE with requirepass)',
      'redis.conf: requirepass <long random password> — generate one with: openssl rand -base64 32',
      'better: one ACL user per application with only the commands it needs, and the default user off',
    ];
  },
};

const protectedModeOff: NodeRule = {
  id: 'protected-mode-off',
  scope: 'node',
  severity: 'warning',
  title: 'protected-mode is off on a server without a password',
  why: 'protected-mode is what refuses outside connections to a password-less Redis; without it, the server is open to every network it listens on.',
  check({ node }) {
    if (setting(node, 'protected-mode') !== 'no' || !authDisabled(node)) return undefined;
    const everywhere = bindsAll(node);
    return {
      severity: everywhere ? 'critical' : 'warning',
      detail: `protected-mode no, no password, bind ${setting(node, 'bind') || '(all interfaces)'}`,
      evidence: { protectedMode: 'no', bind: setting(node, 'bind'), defaultUserNopass: true },
    };
  },
  fix() {
    return ['CONFIG SET protected-mode yes (redis.conf: protected-mode yes)', 'and set a password (see auth-disabled)'];
  },
};

const bindAll: NodeRule = {
  id: 'bind-all-interfaces',
  scope: 'node',
  severity: 'info',
  title: 'Redis listens on every network interface',
  why: 'Every network the host is on can reach Redis, including public ones; the password and firewall are then the only protection.',
  check({ node }) {
    if (!bindsAll(node)) return undefined;
    const noPassword = authDisabled(node);
    const open = noPassword && setting(node, 'protected-mode') === 'no';
    const guarded = noPassword && !open;
    return {
      severity: open ? 'critical' : 'info',
      detail: `bind ${setting(node, 'bind') || '(not set: all interfaces)'}${open ? ', no password and protected-mode off' : guarded ? ', no password: protected-mode refuses other hosts until one is set' : ''}`,
      evidence: { bind: setting(node, 'bind'), defaultUserNopass: noPassword, protectedMode: setting(node, 'protected-mode') },
    };
  },
  fix() {
    return [
      'redis.conf: bind 127.0.0.1 <private address> (then restart; CONFIG SET bind works on Redis 7+)',
      'and allow the port only from application hosts in the firewall or security group',
    ];
  },
};

/** Operator accounts are expected to hold admin commands; only application users are flagged. */
const ADMIN_NAME = /admin|root|ops|sre|superuser|keywarden|replic|sentinel/i;

const dangerousAllowed: NodeRule = {
  id: 'dangerous-commands-allowed',
  scope: 'node',
  severity: 'warning',
  title: 'Application users can run FLUSHALL, CONFIG, DEBUG or KEYS',
  why: 'One buggy deploy or leaked credential can wipe the data (FLUSHALL), reconfigure the server (CONFIG SET), or block it for seconds (KEYS, DEBUG).',
  check({ node }) {
    const users = node.acl;
    if (!users) throw new MissingFacts(node.unavailable.acl ?? 'needs ACL LIST');
    const debugOff = (() => {
      try {
        return setting(node, 'enable-debug-command') === 'no';
      } catch {
        return false;
      }
    })();
    const apps = users
      .filter((u) => u.enabled && !ADMIN_NAME.test(u.name))
      .map((u) => ({ name: u.name, commands: u.dangerous.filter((c) => !(c === 'DEBUG' && debugOff)) }))
      .filter((u) => u.commands.length > 0);
    if (apps.length === 0) return undefined;
    // With only the default user, there is no separate application account to restrict yet.
    const aclsInUse = users.some((u) => u.name !== 'default' && u.enabled);
    return {
      severity: aclsInUse ? 'warning' : 'info',
      detail: apps.map((u) => `${u.name}: ${u.commands.join(', ')}`).join('; '),
      evidence: { users: apps.map((u) => u.name), commands: [...new Set(apps.flatMap((u) => u.commands))] },
    };
  },
  fix(hit) {
    const users = hit.evidence.users as string[];
    return [
      ...users.map((u) => `ACL SETUSER ${u} -@dangerous (or -flushall -flushdb -config -debug -keys), then ACL SAVE / CONFIG REWRITE`),
      'or in redis.conf: rename-command FLUSHALL "" and rename-command KEYS "" (applies to every user)',
    ];
  },
};

export const securityRules = [authDisabledRule, protectedModeOff, bindAll, dangerousAllowed] as const satisfies readonly NodeRule[];
