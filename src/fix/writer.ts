/**
 * Sends one batch of TTL writes to one node: `fix-expire.lua` (one round trip, one bounded
 * call, allowed over maxmemory), or, where this user may not run scripts, a pipeline of
 * `PEXPIRE key ms NX|LT` commands. Either way the server decides atomically per key, so
 * a TTL that appeared after the scan is never overwritten.
 */
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../lua/index.js';
import { isPermissionDenied } from '../target/errors.js';

export type WriteMode = 'NX' | 'LT';

export interface TtlWriter {
  /** One boolean per key: true when the TTL was set. */
  write(mode: WriteMode, keys: Buffer[], ttlMs: number[]): Promise<boolean[]>;
}

const SCRIPTS_UNAVAILABLE = /NOSCRIPT|scripts? (are|is) disabled|unknown command/i;

/** A writer for `client`; starts with the script and falls back to a pipeline once if scripts are refused. */
export function createTtlWriter(client: Redis): TtlWriter {
  const script = luaScript('fix-expire');
  let useScript = true;

  async function viaScript(mode: WriteMode, keys: Buffer[], ttlMs: number[]): Promise<boolean[]> {
    const args: Array<string | Buffer> = [mode];
    keys.forEach((k, i) => args.push(k, String(ttlMs[i])));
    const reply = (await runScript(client, script, args)) as Buffer;
    const out = new Array<boolean>(keys.length);
    for (let i = 0; i < keys.length; i++) out[i] = reply[i] === 0x31;
    return out;
  }

  async function viaPipeline(mode: WriteMode, keys: Buffer[], ttlMs: number[]): Promise<boolean[]> {
    const p = client.pipeline();
    keys.forEach((k, i) => p.call('PEXPIRE', k, String(ttlMs[i]), mode));
    const replies = (await p.exec()) ?? [];
    return replies.map(([err, v]) => {
      if (err) throw err;
      return Number(v) === 1;
    });
  }

  return {
    async write(mode, keys, ttlMs) {
      if (keys.length === 0) return [];
      if (useScript) {
        try {
          return await viaScript(mode, keys, ttlMs);
        } catch (err) {
          if (!isPermissionDenied(err) && !SCRIPTS_UNAVAILABLE.test((err as Error).message)) throw err;
          useScript = false;
        }
      }
      return viaPipeline(mode, keys, ttlMs);
    },
  };
}
