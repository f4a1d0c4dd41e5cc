/**
 * Where undo sends each journaled key. Standalone: the node fix wrote it on (the journal
 * says which). Cluster: the master that serves the key's slot *now*, from the cluster's
 * current slot map, because a resharding or a failover since fix may have moved it; the
 * journal's node may even be gone. A routing error (the slot moved during undo) or a master
 * that stops answering rereads the map, and the caller places the keys again; a key whose
 * slot is mid-migration or served by no reachable master is skipped with that reason,
 * never guessed at.
 */
import type { Redis } from 'ioredis';
import { openNode, type Target } from '../target/connect.js';
import { keySlot, parseMasterSlots, readSlotMap, type MasterSlots, type SlotMap } from '../target/slots.js';
import type { UndoSkipReason } from './types.js';

/** One node (and database) a batch of keys is sent to. */
export interface UndoRoute {
  node: string;
  db: number;
  client: Redis;
}

export interface UndoRouter {
  /** The node for a key fix journaled on `node`, db `db`, or why it cannot be reached. */
  route(key: Buffer, node: string, db: number): UndoRoute | UndoSkipReason;
  /** Prepare `route.client` for a call (standalone: SELECT its database). */
  prepare(route: UndoRoute): Promise<void>;
  /**
   * A call to `route` failed. Resolves when the keys are worth placing again (the map was
   * reread); rejects with `err` when they are not (standalone, or an error no map explains).
   */
  failed(route: UndoRoute, err: unknown): Promise<void>;
  /**
   * Of keys `route` answered as gone, the ones that may only have moved: their slot is no
   * longer served by that node, or is migrating away from it (a resharding between reading
   * the slot map and the call). The map is reread when there are any.
   */
  movedAway(route: UndoRoute, gone: Buffer[]): Promise<Set<number>>;
  /** Read the slot map again (a node refused keys of a slot it no longer serves). */
  refresh(): Promise<void>;
  close(): void;
}

/** Script errors that mean "this key's slot is not served here (any more)". */
const ROUTING = /non local key|^MOVED |^ASK |TRYAGAIN/;

/** The router for `target`; reads the slot map first on a cluster. */
export async function undoRouter(target: Target, same: Map<string, string>): Promise<UndoRouter> {
  return target.mode === 'cluster' ? clusterRouter(target) : standaloneRouter(target, same);
}

/** `same`: journaled node address → the target node that is the same server (same-server.ts). */
function standaloneRouter(target: Target, same: Map<string, string>): UndoRouter {
  const clients = new Map(target.nodes.map((n) => [n.address, n.client]));
  const selected = new Map<Redis, number>();
  return {
    route(_key, journaled, db) {
      const node = same.get(journaled) ?? journaled;
      const client = clients.get(node);
      return client ? { node, db, client } : 'unknownNode';
    },
    async prepare({ client, db }) {
      if (selected.get(client) === db) return;
      await client.select(db);
      selected.set(client, db);
    },
    failed(_route, err) {
      return Promise.reject(err);
    },
    async movedAway() {
      return new Set<number>();
    },
    async refresh() {},
    close() {},
  };
}

async function clusterRouter(target: Target): Promise<UndoRouter> {
  const clients = new Map(target.nodes.map((n) => [n.address, n.client]));
  /** Connections this router opened itself (masters that appeared since connectTarget). */
  const opened: Redis[] = [];
  const dead = new Set<string>();

  const connect = async (m: MasterSlots): Promise<Redis | undefined> => {
    if (dead.has(m.address)) return undefined;
    const known = clients.get(m.address);
    if (known) return known;
    try {
      const client = await openNode(target.spec, m.host, m.port, m.address);
      opened.push(client);
      clients.set(m.address, client);
      return client;
    } catch {
      dead.add(m.address);
      return undefined;
    }
  };
  const read = (): Promise<SlotMap> =>
    readSlotMap(
      [...clients].filter(([address]) => !dead.has(address)).map(([, c]) => c),
      target.spec.host,
      connect,
    );
  let map = await read();

  return {
    route(key, _node, db) {
      // A cluster has database 0 only: another db comes from a standalone journal.
      if (db !== 0) return 'unknownNode';
      const slot = keySlot(key);
      if (map.moving.has(slot)) return 'migrating';
      const owner = map.owners[slot];
      const client = owner === undefined || dead.has(owner) ? undefined : clients.get(owner);
      return client && owner ? { node: owner, db: 0, client } : 'unreachable';
    },
    async prepare() {},
    async failed(route, err) {
      const message = (err as Error | undefined)?.message ?? '';
      if ((err as Error | undefined)?.name === 'ReplyError') {
        // CLUSTERDOWN, NOPERM, OOM...: no slot map explains them.
        if (!ROUTING.test(message)) throw err;
      } else {
        // Not a reply and the connection is still up: a bug, not a node gone.
        if (route.client.status === 'ready') throw err;
        // The connection failed (ioredis never retries ours): the node is gone for this run.
        dead.add(route.node);
      }
      map = await read();
    },
    async movedAway(route, gone) {
      // The node's own CLUSTER NODES line is the authority on what it serves and moves.
      const { myself } = parseMasterSlots((await route.client.call('CLUSTER', 'NODES')) as string, target.spec.host);
      const stable = new Set(myself?.slots ?? []);
      for (const slot of myself?.moving ?? []) stable.delete(slot);
      const moved = new Set(gone.flatMap((key, i) => (stable.has(keySlot(key)) ? [] : [i])));
      if (moved.size > 0) map = await read();
      return moved;
    },
    async refresh() {
      map = await read();
    },
    close() {
      for (const c of opened) c.disconnect();
    },
  };
}
