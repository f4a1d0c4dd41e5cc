/**
 * Reads one live node's facts. Read-only: INFO, CONFIG GET, ACL LIST / DRYRUN, SLOWLOG GET,
 * LATENCY LATEST, MEMORY STATS, CLUSTER INFO. Each source that fails (a managed service that
 * disables CONFIG, a user without ACL rights) is recorded with its reason; the rest still run.
 */
import type { Redis } from 'ioredis';
import type { RedisNode } from '../target/connect.js';
import { isPermissionDenied } from '../target/errors.js';
import { parseInfo } from '../target/info.js';
import { aclUserFromRules, DANGEROUS_COMMANDS, parseAclRules } from './acl.js';
import type { AclUser, FactSource, LatencyEvent, NodeFacts, SlowlogEntry } from './facts.js';

const SLOWLOG_ENTRIES = 128;

/** Collect every fact source of one node; never throws for a source that is merely unavailable. */
export async function collectNode(node: RedisNode): Promise<NodeFacts> {
  const facts: NodeFacts = { label: node.address, source: 'live', role: node.role, unavailable: {} };
  const read = async <T>(source: FactSource, what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      facts.unavailable[source] = unavailableReason(what, err);
      return undefined;
    }
  };
  const c = node.client;
  facts.info = await read('info', 'INFO', async () => parseInfo(await c.info('all')));
  facts.config = await read('config', 'CONFIG GET', () => readConfig(c));
  facts.acl = await read('acl', 'ACL LIST', () => readAcl(c));
  facts.slowlog = await read('slowlog', 'SLOWLOG GET', () => readSlowlog(c));
  facts.latency = await read('latency', 'LATENCY LATEST', () => readLatency(c));
  facts.memory = await read('memory', 'MEMORY STATS', () => readMemoryStats(c));
  if (facts.info?.cluster_enabled === '1') {
    facts.cluster = await read('cluster', 'CLUSTER INFO', async () => ({ info: parseInfo((await c.call('CLUSTER', 'INFO')) as string) }));
  } else {
    facts.unavailable.cluster = 'not a cluster node';
  }
  return facts;
}

/** "CONFIG GET is not allowed for this user (NOPERM)" / "... is disabled on this server (unknown command)". */
export function unavailableReason(what: string, err: unknown): string {
  const message = String((err as { message?: string } | undefined)?.message ?? err).split('\n')[0];
  if (isPermissionDenied(err)) return `${what} is not allowed for this user (NOPERM)`;
  if (/unknown command|unknown subcommand/i.test(message)) return `${what} is disabled or renamed on this server`;
  return `${what} failed: ${message.slice(0, 160)}`;
}

async function readConfig(c: Redis): Promise<Record<string, string>> {
  const flat = (await c.call('CONFIG', 'GET', '*')) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i].toLowerCase()] = flat[i + 1];
  // Never keep secrets in facts: rules only need to know whether one is set.
  for (const secret of ['requirepass', 'masterauth', 'tls-key-file-pass', 'tls-client-key-file-pass']) {
    if (secret in out) out[secret] = out[secret] === '' ? '' : '<set>';
  }
  return out;
}

async function readAcl(c: Redis): Promise<AclUser[]> {
  const lines = (await c.call('ACL', 'LIST')) as string[];
  const users: AclUser[] = [];
  for (const line of lines) {
    const words = line.split(' ');
    const parsed = parseAclRules(words);
    const dangerous = parsed.enabled ? await dryRun(c, parsed.name) : [];
    users.push(dangerous ? { name: parsed.name, enabled: parsed.enabled, nopass: parsed.nopass, dangerous } : aclUserFromRules(words));
  }
  return users;
}

/** ACL DRYRUN (Redis 7) for each dangerous command; undefined when DRYRUN is unavailable. */
async function dryRun(c: Redis, user: string): Promise<string[] | undefined> {
  const allowed: string[] = [];
  for (const [command, args] of Object.entries(DANGEROUS_COMMANDS)) {
    try {
      const reply = await c.call('ACL', 'DRYRUN', user, command, ...args);
      if (reply === 'OK') allowed.push(command);
    } catch (err) {
      const message = String((err as Error).message);
      // Renamed or disabled commands are "not found": not runnable under that name.
      if (/not found/i.test(message)) continue;
      return undefined;
    }
  }
  return allowed;
}

async function readSlowlog(c: Redis): Promise<SlowlogEntry[]> {
  const raw = (await c.call('SLOWLOG', 'GET', String(SLOWLOG_ENTRIES))) as unknown[][];
  return raw.map((e) => ({
    id: Number(e[0]),
    timestamp: Number(e[1]),
    durationUs: Number(e[2]),
    args: (e[3] as unknown[]).map((a) => String(a)),
    client: String(e[4] ?? ''),
    clientName: String(e[5] ?? ''),
  }));
}

async function readLatency(c: Redis): Promise<LatencyEvent[]> {
  const raw = (await c.call('LATENCY', 'LATEST')) as unknown[][];
  return raw.map((e) => ({ event: String(e[0]), timestamp: Number(e[1]), latestMs: Number(e[2]), maxMs: Number(e[3]) }));
}

async function readMemoryStats(c: Redis): Promise<Record<string, number>> {
  const flat = (await c.call('MEMORY', 'STATS')) as unknown[];
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const value = flat[i + 1];
    if (typeof value === 'number' || (typeof value === 'string' && value !== '' && Number.isFinite(Number(value)))) out[String(flat[i])] = Number(value);
  }
  return out;
}

/** used_memory now, for the growth estimate; undefined when INFO is not allowed. */
export async function usedMemory(c: Redis): Promise<number | undefined> {
  try {
    const info = parseInfo(await c.info('memory'));
    return Number(info.used_memory) - Number(info.mem_not_counted_for_evict ?? 0);
  } catch {
    return undefined;
  }
}
