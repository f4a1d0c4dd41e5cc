/**
 * Where a key of a Redis Cluster lives now. A key's slot is computed here exactly as the
 * server does (CRC16 of the key, or of its first non-empty `{hash tag}`), and the slot map
 * is read from every master's own CLUSTER NODES line: only a master's view of itself holds
 * its migrating and importing slots, and reading each master's claim (rather than one node's
 * gossip) leaves no stale owner unnoticed. Used by `undo`, whose journal names the node a key
 * was on when fix ran, which a resharding or a failover may have changed since.
 */
import type { Redis } from 'ioredis';
import { parseClusterNodes } from './connect.js';

export const SLOTS = 16384;

/**
 * CRC16/XMODEM (poly 0x1021), the checksum Redis Cluster hashes keys with. Not the
 * cluster-key-slot package the clients use: it gets a key with an empty `{}` followed by
 * more braces wrong (`a{}b{c}`: 15725 there, 7353 from CLUSTER KEYSLOT), and undo must route
 * exactly.
 */
const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Buffer, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/** The cluster slot of a key (binary-safe), as CLUSTER KEYSLOT answers. */
export function keySlot(key: Buffer): number {
  const open = key.indexOf(0x7b /* { */);
  if (open >= 0) {
    const close = key.indexOf(0x7d /* } */, open + 1);
    if (close > open + 1) return crc16(key, open + 1, close) & (SLOTS - 1);
  }
  return crc16(key, 0, key.length) & (SLOTS - 1);
}

/** One master's view of itself: its address and the slots it serves, migrates or imports. */
export interface MasterSlots {
  id: string;
  /** `host:port`, as connectTarget names nodes. */
  address: string;
  host: string;
  port: number;
  slots: number[];
  /** Slots this master is moving away (MIGRATING) or receiving (IMPORTING). */
  moving: number[];
}

/**
 * Parse CLUSTER NODES: the masters that serve slots (failed ones left out) and, for the
 * `myself` line only, the `[slot->-id]` / `[slot-<-id]` entries of slots in migration.
 */
export function parseMasterSlots(text: string, fallbackHost: string): { myself?: MasterSlots; masters: MasterSlots[] } {
  const rawLines = text.split('\n').filter((l) => l.trim() !== '');
  const parsed = parseClusterNodes(text);
  const masters: MasterSlots[] = [];
  let myself: MasterSlots | undefined;
  parsed.forEach((node, i) => {
    if (!node.flags.includes('master') || node.flags.some((f) => f === 'fail' || f === 'noaddr' || f === 'handshake')) return;
    const host = node.host || fallbackHost;
    const entry: MasterSlots = { id: node.id, address: `${host}:${node.port}`, host, port: node.port, slots: [], moving: [] };
    for (const field of rawLines[i].trim().split(' ').slice(8)) {
      if (field.startsWith('[')) entry.moving.push(Number(field.slice(1, field.indexOf('-'))));
      else {
        const [from, to] = field.split('-').map(Number);
        for (let s = from; s <= (to ?? from); s++) entry.slots.push(s);
      }
    }
    if (node.flags.includes('myself')) myself = entry;
    masters.push(entry);
  });
  return { myself, masters };
}

/** Who serves each slot now, and which slots are mid-migration (their keys may be on either side). */
export interface SlotMap {
  /** Per slot: the address of its master, or undefined when no reachable master serves it. */
  owners: Array<string | undefined>;
  /** Slots being migrated (or whose masters disagree about who owns them). */
  moving: Set<number>;
  /** Every master, reachable or not. */
  masters: MasterSlots[];
}

/**
 * Read the slot map: the masters from the first client that answers CLUSTER NODES, then
 * each master's own claim through `connect` (undefined: unreachable, its slots have no owner).
 * Rejects only when no client answers at all.
 */
export async function readSlotMap(clients: Redis[], fallbackHost: string, connect: (master: MasterSlots) => Promise<Redis | undefined>): Promise<SlotMap> {
  let view: MasterSlots[] | undefined;
  let lastError: unknown;
  for (const client of clients) {
    try {
      view = parseMasterSlots((await client.call('CLUSTER', 'NODES')) as string, fallbackHost).masters;
      break;
    } catch (err) {
      lastError = err;
    }
  }
  if (!view) throw lastError ?? new Error('no cluster node to ask for the slot map');
  const claims = await Promise.all(
    view.map(async (m) => {
      const client = await connect(m);
      if (!client) return undefined;
      try {
        const self = parseMasterSlots((await client.call('CLUSTER', 'NODES')) as string, m.host).myself;
        // Named as the view names it: that is the address the caller connected to.
        return self && { ...self, address: m.address };
      } catch {
        return undefined;
      }
    }),
  );
  const owners = new Array<string | undefined>(SLOTS).fill(undefined);
  const moving = new Set<number>();
  for (const self of claims) {
    if (!self) continue;
    for (const s of self.moving) moving.add(s);
    for (const s of self.slots) {
      // Two masters claiming a slot: an assignment still propagating. Neither is sure.
      if (owners[s] !== undefined && owners[s] !== self.address) moving.add(s);
      owners[s] = self.address;
    }
  }
  return { owners, moving, masters: view };
}
