/**
 * The one write undo makes: PERSIST a key only while its absolute expiry (PEXPIRETIME) is
 * still exactly the one fix recorded, checked and written atomically. fix-undo.lua does a
 * batch in one call; where this user may not run scripts (EVAL renamed away, an ACL user
 * without +@scripting), WATCH/MULTI/EXEC does the same: the keys are watched, their expiry
 * read, and the PERSISTs sent in a transaction the server drops if any watched key changed
 * in between (then the batch is read again). Fix falls back the same way, so undo works
 * wherever fix worked.
 */
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../lua/index.js';
import { callsOf, HEAVY_NAME_BYTES } from '../keyspace/walk/calls.js';
import { keySlot } from '../target/slots.js';
import { isPermissionDenied } from '../target/errors.js';

/** Per key, as fix-undo.lua answers: u undone, g gone, p no TTL, l later, s earlier, m moved. */
export type UndoCodes = string;

const SCRIPTS_UNAVAILABLE = /NOSCRIPT|scripts? (are|is) disabled|unknown command|NOPERM/i;
const ROUTING = /^MOVED |^ASK |TRYAGAIN|CROSSSLOT|non local key/;
/** Transactions dropped because a watched key changed, before the keys go one by one. */
const WATCH_ATTEMPTS = 5;

export class UndoPersister {
  private readonly script = luaScript('fix-undo');
  private scripted = true;

  constructor(private readonly cluster: boolean) {}

  /**
   * Check (and with `apply`, PERSIST) `keys`, each whose PEXPIRETIME lies in
   * `[expiry[i].lo, expiry[i].hi]`: one value for keys on the node fix wrote them on.
   */
  run(client: Redis, keys: Buffer[], expiry: Array<{ lo: number; hi: number }>, apply: boolean): Promise<UndoCodes> {
    // Light names up to NAME_BYTES_PER_CALL of them a call (the undo pacer sizes batches in
    // keys, not bytes); each heavy name checked and written in a WATCH/MULTI of its own, so
    // every call touches at most one such name.
    return inGroups(callsOf(keys), keys, expiry, (some, bounds) =>
      some[0].length > HEAVY_NAME_BYTES ? this.watched(client, some, bounds, apply) : this.batch(client, some, bounds, apply),
    );
  }

  private async batch(client: Redis, keys: Buffer[], expiry: Array<{ lo: number; hi: number }>, apply: boolean): Promise<UndoCodes> {
    if (this.scripted) {
      const args: Array<string | Buffer> = [apply ? '1' : '0'];
      keys.forEach((k, i) => args.push(k, String(expiry[i].lo), String(expiry[i].hi)));
      try {
        return ((await runScript(client, this.script, args)) as Buffer).toString('latin1');
      } catch (err) {
        if (!isPermissionDenied(err) && !SCRIPTS_UNAVAILABLE.test((err as Error).message)) throw err;
        this.scripted = false;
      }
    }
    // A transaction holds keys of one slot on a cluster; on a standalone server, the batch.
    const groups = new Map<number, number[]>();
    keys.forEach((k, i) => {
      const slot = this.cluster ? keySlot(k) : 0;
      const g = groups.get(slot);
      if (g) g.push(i);
      else groups.set(slot, [i]);
    });
    return inGroups(groups.values(), keys, expiry, (some, bounds) => this.watched(client, some, bounds, apply));
  }

  private async watched(client: Redis, keys: Buffer[], expiry: Array<{ lo: number; hi: number }>, apply: boolean): Promise<string[]> {
    for (let attempt = 0; attempt < WATCH_ATTEMPTS; attempt++) {
      try {
        await client.watch(...keys);
        const p = client.pipeline();
        for (const k of keys) p.call('PEXPIRETIME', k);
        const at = ((await p.exec()) ?? []).map(([err, v]) => {
          if (err) throw err;
          return Number(v);
        });
        const codes = at.map((a, i) => (a === -2 ? 'g' : a === -1 ? 'p' : a > expiry[i].hi ? 'l' : a < expiry[i].lo ? 's' : 'u'));
        const persist = keys.filter((_, i) => codes[i] === 'u');
        if (!apply || persist.length === 0) {
          await client.unwatch();
          return codes;
        }
        const tx = client.multi();
        for (const k of persist) tx.persist(k);
        // null: a watched key changed between the read and EXEC, and nothing was written.
        if ((await tx.exec()) !== null) return codes;
      } catch (err) {
        await client.unwatch().catch(() => undefined);
        if (this.cluster && ROUTING.test((err as Error).message)) return keys.map(() => 'm');
        throw err;
      }
    }
    // Some key keeps changing: decide each on its own, so the others are not held up.
    if (keys.length > 1) {
      const out: string[] = [];
      for (let i = 0; i < keys.length; i++) out.push(...(await this.watched(client, [keys[i]], [expiry[i]], apply)));
      return out;
    }
    // A key the application rewrites faster than a round trip: changed since, by definition.
    return ['s'];
  }
}

/** `check` run on each group of indexes of `keys` in turn; its codes put back in the keys' order. */
async function inGroups(
  groups: Iterable<number[]>,
  keys: Buffer[],
  expiry: Array<{ lo: number; hi: number }>,
  check: (keys: Buffer[], expiry: Array<{ lo: number; hi: number }>) => Promise<UndoCodes | string[]>,
): Promise<UndoCodes> {
  const codes = new Array<string>(keys.length);
  for (const indexes of groups) {
    const got = await check(
      indexes.map((i) => keys[i]),
      indexes.map((i) => expiry[i]),
    );
    indexes.forEach((i, j) => (codes[i] = got[j]));
  }
  return codes.join('');
}
