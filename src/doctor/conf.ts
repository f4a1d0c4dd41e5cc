/**
 * Offline `redis.conf` reading, the way redis-server reads it: one directive per line, `#`
 * comments, double-quoted (with `\n \xHH` escapes) and single-quoted arguments, case-insensitive
 * names, `include` files (globs, relative to the including file), memory units (`1k` = 1000,
 * `1kb` = 1024, up to `gb`), the last of a repeated directive wins (except those that add up,
 * such as `save` and `rename-command`). The result feeds the same rules as a live server.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { aclUserFromRules, DANGEROUS_COMMANDS } from './acl.js';
import { KNOWN_DIRECTIVES, YES_NO_DIRECTIVES } from './conf-directives.js';
import type { AclUser, NodeFacts } from './facts.js';

export interface ConfDirective {
  name: string;
  args: string[];
  /** `file:line` */
  at: string;
}

export interface ConfFile {
  path: string;
  directives: ConfDirective[];
  /** Effective settings, lower-case names, values as CONFIG GET prints them (memory in bytes). */
  config: Record<string, string>;
  /** Commands renamed (upper case → new name; '' = disabled). */
  renamed: Record<string, string>;
  /** Single-valued directives given more than once: only the last counts. */
  duplicates: Array<{ name: string; at: string[]; values: string[] }>;
  /** `user` directives (and aclfile lines), as word lists. */
  users: string[][];
  /** Lines that could not be read (unbalanced quotes, missing include). */
  problems: Array<{ at: string; message: string }>;
}

/** Directives that may repeat and add up instead of replacing each other. */
const MULTI = new Set(['save', 'rename-command', 'user', 'include', 'loadmodule', 'client-output-buffer-limit', 'sentinel']);

/**
 * Directives whose value is a secret. Their values are masked as they are read, so no rule,
 * renderer or JSON document can ever show one: rules only need to know whether one is set.
 */
export const SECRET_DIRECTIVES: ReadonlySet<string> = new Set(['requirepass', 'masterauth', 'tls-key-file-pass', 'tls-client-key-file-pass']);

/** Settings whose value is a memory size: stored in bytes like CONFIG GET shows them. */
const MEMORY_SETTINGS = new Set([
  'maxmemory',
  'repl-backlog-size',
  'client-query-buffer-limit',
  'proto-max-bulk-len',
  'active-defrag-ignore-bytes',
  'auto-aof-rewrite-min-size',
  'hash-max-listpack-value',
  'stream-node-max-bytes',
  'maxmemory-clients',
  'list-max-listpack-size',
]);

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };

/** `2gb` → 2147483648, `100m` → 100000000 (Redis' memtoull); undefined when not a size. */
export function parseMemory(text: string): number | undefined {
  const m = /^(-?\d+(?:\.\d+)?)([a-z]*)$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = UNITS[m[2].toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** Split a line into arguments like sdssplitargs: quotes, escapes; undefined on unbalanced quotes. */
export function splitArgs(line: string): string[] | undefined {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    let cur = '';
    const quote = line[i] === '"' || line[i] === "'" ? line[i++] : '';
    for (;;) {
      if (i >= line.length) {
        if (quote) return undefined;
        break;
      }
      const ch = line[i];
      if (!quote && /\s/.test(ch)) break;
      if (quote && ch === quote) {
        i++;
        // A closing quote must be followed by a space or the end of the line.
        if (i < line.length && !/\s/.test(line[i])) return undefined;
        break;
      }
      if (quote === '"' && ch === '\\' && i + 1 < line.length) {
        const next = line[i + 1];
        const hex = /^x([0-9a-f]{2})/i.exec(line.slice(i + 1, i + 4));
        if (hex) {
          cur += String.fromCharCode(parseInt(hex[1], 16));
          i += 4;
          continue;
        }
        cur += ({ n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' } as Record<string, string>)[next] ?? next;
        i += 2;
        continue;
      }
      if (quote === "'" && ch === '\\' && line[i + 1] === "'") {
        cur += "'";
        i += 2;
        continue;
      }
      cur += ch;
      i++;
    }
    args.push(cur);
  }
  return args;
}

/**
 * Read a redis.conf (and its includes).
 * @throws UsageError when the file itself cannot be read.
 */
export function readConf(path: string): ConfFile {
  return parseConf(readConfText(path, '--config'), path, (p) => readConfText(p, 'include'));
}

/** redis.conf files are kilobytes; a file past this is not one (and is not read whole). */
export const MAX_CONF_BYTES = 4 * 1024 * 1024;

/**
 * The text of a redis.conf, refusing what cannot be one before reading it: a device or a
 * pipe (`/dev/urandom` would be read forever), a huge file, or binary content.
 */
function readConfText(path: string, what: string): string {
  let buf: Buffer;
  try {
    const info = statSync(path);
    if (!info.isFile()) throw new UsageError(`${what} '${path}' is not a regular file`, 'give --config the path of a redis.conf');
    if (info.size > MAX_CONF_BYTES)
      throw new UsageError(
        `${what} '${path}' is ${(info.size / 1024 / 1024).toFixed(1)} MiB: not a redis.conf`,
        'give --config the path of a redis.conf (a few kilobytes of text)',
      );
    buf = readFileSync(path);
  } catch (cause) {
    if (cause instanceof UsageError) throw cause;
    throw new UsageError(`cannot read redis.conf '${path}'`, 'check the path given to --config', { cause });
  }
  if (buf.includes(0)) throw new UsageError(`${what} '${path}' is a binary file, not a redis.conf`, 'give --config the path of a redis.conf (text)');
  return buf.toString('utf8');
}

/** Parse redis.conf text; `load` reads included files (paths already resolved). */
export function parseConf(text: string, path: string, load: (path: string) => string): ConfFile {
  const conf: ConfFile = { path, directives: [], config: {}, renamed: {}, duplicates: [], users: [], problems: [] };
  collect(conf, text, path, load, new Set([resolve(path)]));
  applyDirectives(conf);
  return conf;
}

function collect(conf: ConfFile, text: string, file: string, load: (path: string) => string, seen: Set<string>): void {
  text.split(/\r?\n/).forEach((raw, index) => {
    const at = `${file}:${index + 1}`;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const args = splitArgs(line);
    if (!args || args.length === 0) {
      conf.problems.push({ at, message: 'unbalanced quotes' });
      return;
    }
    const name = args[0].toLowerCase();
    if (name !== 'include') {
      conf.directives.push({ name, args: args.slice(1), at });
      return;
    }
    for (const included of expandInclude(args[1] ?? '', dirname(file))) {
      const key = resolve(included);
      if (seen.has(key)) {
        conf.problems.push({ at, message: `include cycle: ${included} is already being read` });
        continue;
      }
      let body: string;
      try {
        body = load(included);
      } catch {
        conf.problems.push({ at, message: `cannot read included file ${included}` });
        continue;
      }
      collect(conf, body, included, load, new Set([...seen, key]));
    }
  });
}

/** An include path (relative to the including file's directory; `*` globs in the file name). */
function expandInclude(pattern: string, base: string): string[] {
  const full = isAbsolute(pattern) ? pattern : join(base, pattern);
  const name = basename(full);
  if (!name.includes('*')) return [full];
  const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  try {
    return readdirSync(dirname(full))
      .filter((f) => re.test(f))
      .sort()
      .map((f) => join(dirname(full), f));
  } catch {
    return [];
  }
}

function applyDirectives(conf: ConfFile): void {
  const seenAt = new Map<string, ConfDirective[]>();
  for (const d of conf.directives) {
    if (d.name === 'rename-command') {
      if (d.args[0]) conf.renamed[d.args[0].toUpperCase()] = d.args[1] ?? '';
      continue;
    }
    if (d.name === 'user') {
      conf.users.push(['user', ...d.args]);
      continue;
    }
    if (SECRET_DIRECTIVES.has(d.name)) d.args = d.args.map((a) => (a === '' ? '' : '<set>'));
    if (d.name === 'save') {
      // `save ""` clears the save points; each other line adds one.
      const points = d.args.join(' ').trim();
      conf.config.save = points === '' ? '' : [conf.config.save, points].filter(Boolean).join(' ');
      continue;
    }
    if (!MULTI.has(d.name)) seenAt.set(d.name, [...(seenAt.get(d.name) ?? []), d]);
    conf.config[d.name] = settingValue(d);
  }
  for (const [name, list] of seenAt) {
    // Shown as written (`2gb`, not 2147483648), secrets masked.
    if (list.length > 1)
      conf.duplicates.push({ name, at: list.map((d) => d.at), values: list.map((d) => (SECRET_DIRECTIVES.has(d.name) ? settingValue(d) : d.args.join(' '))) });
  }
  lintValues(conf);
}

const MAXMEMORY_POLICIES = new Set([
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
]);

/**
 * What makes redis-server refuse to start: a directive it does not know, a yes/no setting
 * with another value, a memory size it cannot read (`12zb`), an unknown eviction policy.
 * Each becomes a problem of its line; a bad value is also dropped from the effective
 * settings, so no rule reasons about a value the server would never run with.
 */
function lintValues(conf: ConfFile): void {
  for (const d of conf.directives) {
    const value = d.args.join(' ');
    let problem: string | undefined;
    if (!KNOWN_DIRECTIVES.has(d.name)) problem = `unknown directive '${d.name}'`;
    else if (YES_NO_DIRECTIVES.has(d.name) && !/^(yes|no)$/i.test(value)) problem = `${d.name} takes yes or no, not '${value}'`;
    else if (MEMORY_SETTINGS.has(d.name) && (d.args.length !== 1 || parseMemory(d.args[0]) === undefined))
      problem = `${d.name} '${value}' is not a memory size (use bytes, or a unit: 100mb, 2gb)`;
    else if (d.name === 'maxmemory-policy' && !MAXMEMORY_POLICIES.has(value.toLowerCase())) problem = `maxmemory-policy '${value}' is not an eviction policy`;
    if (!problem) continue;
    conf.problems.push({ at: d.at, message: `${problem}: redis-server refuses to start` });
    if (conf.config[d.name] === settingValue(d)) delete conf.config[d.name];
  }
}

function settingValue(d: ConfDirective): string {
  const joined = d.args.join(' ');
  if (SECRET_DIRECTIVES.has(d.name)) return joined === '' ? '' : '<set>';
  if (MEMORY_SETTINGS.has(d.name) && d.args.length === 1) {
    const bytes = parseMemory(d.args[0]);
    if (bytes !== undefined) return String(bytes);
  }
  return joined;
}

/** Facts for the rules from a redis.conf: config, renamed commands and the ACL users it defines. */
export function confFacts(conf: ConfFile, loadAclFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): NodeFacts {
  const config = { ...conf.config };
  if (config.slaveof !== undefined && config.replicaof === undefined) config.replicaof = config.slaveof;
  const facts: NodeFacts = {
    label: conf.path,
    source: 'conf',
    role: config.replicaof ? 'replica' : 'master',
    config,
    renamed: conf.renamed,
    confLint: { duplicates: conf.duplicates, problems: conf.problems },
    unavailable: {},
  };
  let userLines = conf.users;
  if (config.aclfile) {
    const aclPath = isAbsolute(config.aclfile) ? config.aclfile : join(dirname(conf.path), config.aclfile);
    try {
      userLines = loadAclFile(aclPath)
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l.startsWith('user '))
        .map((l) => l.split(/\s+/));
    } catch {
      facts.unavailable.acl = `the aclfile ${aclPath} could not be read`;
      return facts;
    }
  }
  facts.acl = confUsers(userLines, config.requirepass !== undefined && config.requirepass !== '', conf.renamed);
  return facts;
}

function confUsers(lines: string[][], requirepass: boolean, renamed: Record<string, string>): AclUser[] {
  const users = lines.map((words) => aclUserFromRules(words));
  if (!users.some((u) => u.name === 'default')) {
    // Without a `user default` line the default user is `on ~* &* +@all`, with requirepass as its password.
    users.unshift({ name: 'default', enabled: true, nopass: !requirepass, dangerous: Object.keys(DANGEROUS_COMMANDS) });
  }
  // A renamed command is out of reach under its usual name; a disabled one ('') entirely.
  for (const u of users) u.dangerous = u.dangerous.filter((c) => renamed[c] === undefined);
  return users;
}
