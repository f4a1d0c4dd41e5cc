/**
 * Which node of the target a journal's node address means. A journal names nodes as the run
 * that wrote it spelled them (`127.0.0.1:6379`); the next run may spell the same server
 * `localhost:6379` or by another name. The server's own identity decides, not the spelling:
 * the same INFO run_id (the same server process), else the same port on a host that resolves
 * to the same address (the server restarted since: a new run_id).
 */
import { lookup } from 'node:dns/promises';
import { splitAddress, type Target } from '../target/connect.js';

/** INFO run_id of every node of the target (nodes that refuse INFO are left out). */
export async function targetRunIds(target: Target): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const node of target.nodes) {
    const id = /run_id:(\w+)/.exec(await node.client.info('server').catch(() => ''))?.[1];
    if (id) ids[node.address] = id;
  }
  return ids;
}

/**
 * Map each journaled node address to the target node that is the same server, by run_id
 * first, then by resolved address and port. Addresses with no match are left out.
 */
export async function sameServers(target: Target, journalRunIds: Record<string, string>, journalNodes: Iterable<string>): Promise<Map<string, string>> {
  const nodes = target.nodes.map((n) => n.address);
  const out = new Map<string, string>();
  const pending: string[] = [];
  for (const address of new Set(journalNodes)) {
    if (nodes.includes(address)) out.set(address, address);
    else pending.push(address);
  }
  if (pending.length === 0) return out;
  const ids = await targetRunIds(target);
  const resolved = new Map<string, string>();
  const resolve = async (address: string): Promise<string> => {
    const cached = resolved.get(address);
    if (cached !== undefined) return cached;
    const [name, port] = splitAddress(address);
    const host = name.replace(/^\[(.*)\]$/, '$1');
    const ip = (await lookup(host).catch(() => undefined))?.address ?? host;
    const key = `${ip === '::1' ? '127.0.0.1' : ip}:${port}`;
    resolved.set(address, key);
    return key;
  };
  for (const address of pending) {
    const runId = journalRunIds[address];
    const byId = runId ? nodes.find((n) => ids[n] === runId) : undefined;
    if (byId) {
      out.set(address, byId);
      continue;
    }
    const want = await resolve(address);
    for (const n of nodes) {
      if ((await resolve(n)) === want) {
        out.set(address, n);
        break;
      }
    }
  }
  return out;
}
