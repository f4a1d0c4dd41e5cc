/**
 * Sends one batch of TTL writes to one node: `fix-expire.lua` (one round trip, one bounded
 * call, allowed over maxmemory; the keys packed in one argument), or, where this user may not
 * run scripts, pipelined `PEXPIRE key ms NX|LT` commands in MULTI/EXEC. Either way the server
 * decides atomically per key, so a TTL that appeared after the scan is never overwritten. The
 * keys were not read before (keys-only SCAN): the reply is what says which had a TTL, and only
 * the keys written are measured (MEMORY USAGE, the memory their TTL will free): every one, or
 * those of a sample (`Measure`), whose figures the tally scales to the keys written. No call
 * carries more than NAME_BYTES_PER_CALL of names, and a name over HEAVY_NAME_BYTES goes alone.
 */
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../lua/index.js';
import { assertKeyTtl } from '../policy/index.js';
import { callsOf, HEAVY_NAME_BYTES } from '../keyspace/walk/calls.js';
import { isPermissionDenied } from '../target/errors.js';

export type WriteMode = 'NX' | 'LT';

/** Per key: the TTL was set, refused (NX: it has a TTL; LT: none or a shorter one), or the key is gone. */
export type WriteStatus = 'set' | 'refused' | 'gone';

/**
 * Which keys whose TTL is set get MEMORY USAGE: true every one, false none, or a mask of one
 * character per key ('1' measure it, '0' not), as fix-expire.lua takes it.
 */
export type Measure = boolean | string;

/** `bytes` of a key whose TTL was set but which was left out of the measured sample. */
export const NOT_SAMPLED = -2;

export interface WriteResult {
  status: WriteStatus[];
  /**
   * MEMORY USAGE of keys whose TTL was set (NX with `measure`); NOT_SAMPLED for a key set
   * but left out of the sample; -1 elsewhere or when not measured (MEMORY refused).
   */
  bytes: number[];
  /**
   * Absolute expiry (unix ms, PEXPIRETIME) of each key whose TTL was set, read in the same
   * script or transaction as the write; 0 for keys not set. Undo PERSISTs a key only while
   * its expiry is still exactly this.
   */
  expiry: number[];
  /** Server-side time of the call, when the script reported it. */
  serverMs?: number;
}

export interface TtlWriter {
  /** Write `keys`; the first call goes to the connection before this returns (a caller may send it with another command). */
  write(mode: WriteMode, keys: Buffer[], ttlMs: number[], measure: Measure): Promise<WriteResult>;
  /** False when this user may not run fix-expire.lua here (the writes then go as pipelined commands). */
  scripted(): Promise<boolean>;
}

const SCRIPTS_UNAVAILABLE = /NOSCRIPT|scripts? (are|is) disabled|unknown command/i;

/**
 * fix-expire.lua's arguments: the mode, which keys to measure ('1' every key, '0' none, or the
 * mask itself), the TTL of every key or '*', and the keys packed in one string (one argument
 * is far cheaper to send and parse than hundreds): per key, struct '<I4' (its length), with
 * '*' then '<d' (its TTL), then the key.
 */
export function expireArgs(mode: WriteMode, keys: Buffer[], ttls: number[], measure: Measure): Array<string | Buffer> {
  const uniform = ttls.every((t) => t === ttls[0]);
  const header = uniform ? 4 : 12;
  const blob = Buffer.allocUnsafe(keys.reduce((size, k) => size + header + k.length, 0));
  let o = 0;
  keys.forEach((k, i) => {
    o = blob.writeUInt32LE(k.length, o);
    if (!uniform) o = blob.writeDoubleLE(ttls[i], o);
    o += k.copy(blob, o);
  });
  return [mode, measure === true ? '1' : measure === false ? '0' : measure, uniform ? String(ttls[0] ?? 0) : '*', blob];
}

/** Whether key `i` of a call was to be measured (a mask of one key reads as '1' or '0' either way). */
function sampled(measure: Measure, i: number): boolean {
  if (typeof measure === 'boolean') return true;
  return measure.length === 1 ? measure === '1' : measure.charCodeAt(i) === 0x31;
}

/**
 * Decode fix-expire.lua's reply: one ','-separated token per key, `<expiry>[/<bytes>]` set,
 * `0` refused, `-` gone. `measure`, as sent: a set key the mask left out is NOT_SAMPLED.
 */
export function decodeWriteReply(reply: string, count: number, measure: Measure = true): WriteResult {
  const status = new Array<WriteStatus>(count);
  const bytes = new Array<number>(count);
  const expiry = new Array<number>(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    if (pos > reply.length) throw tokenMismatch(reply, count);
    let end = reply.indexOf(',', pos);
    if (end < 0) end = reply.length;
    const c = reply.charCodeAt(pos);
    if (c > 0x30 && c <= 0x39 /* 1-9 */) {
      status[i] = 'set';
      const slash = reply.indexOf('/', pos);
      if (slash >= 0 && slash < end) {
        expiry[i] = Number(reply.slice(pos, slash));
        bytes[i] = Number(reply.slice(slash + 1, end));
      } else {
        expiry[i] = Number(reply.slice(pos, end));
        bytes[i] = sampled(measure, i) ? -1 : NOT_SAMPLED;
      }
    } else {
      status[i] = c === 0x2d /* - */ ? 'gone' : 'refused';
      bytes[i] = -1;
      expiry[i] = 0;
    }
    pos = end + 1;
  }
  if (count > 0 ? pos !== reply.length + 1 : reply.length > 0) throw tokenMismatch(reply, count);
  return { status, bytes, expiry };
}

function tokenMismatch(reply: string, count: number): Error {
  return new Error(`fix-expire.lua answered ${reply === '' ? 0 : reply.split(',').length} tokens for ${count} keys`);
}

/** A writer for `client`; starts with the script and falls back to a pipeline once if scripts are refused. */
export function createTtlWriter(client: Redis, options: { cluster?: boolean } = {}): TtlWriter {
  const script = luaScript('fix-expire');
  let useScript = true;

  async function viaScript(mode: WriteMode, keys: Buffer[], ttlMs: number[], measure: Measure): Promise<WriteResult> {
    const [tokens, micros] = (await runScript(client, script, expireArgs(mode, keys, ttlMs, measure))) as [Buffer, number];
    return { ...decodeWriteReply(tokens.toString('latin1'), keys.length, mode === 'NX' ? measure : true), serverMs: Number(micros) / 1000 };
  }

  async function viaPipeline(mode: WriteMode, keys: Buffer[], ttlMs: number[], measure: Measure): Promise<WriteResult> {
    // Without a script, each key's write and the read of the expiry it left are in one
    // MULTI/EXEC, so no other client's EXPIRE can fall between them: the whole batch in one
    // on a standalone server, one per key on a cluster (a transaction holds keys of one slot
    // only). LT: the PEXPIRE goes only to keys that had a TTL when NX refused them (see
    // ledger.ts); the PTTL check and the write cannot be one atomic step here.
    const perKey = options.cluster === true;
    const p = client.pipeline();
    if (!perKey) p.call('MULTI');
    keys.forEach((k, i) => {
      if (perKey) p.call('MULTI');
      p.call('PEXPIRE', k, String(ttlMs[i]), mode);
      p.call('PEXPIRETIME', k);
      if (perKey) p.call('EXEC');
    });
    if (!perKey) p.call('EXEC');
    const replies = (await p.exec()) ?? [];
    // A command refused when queued (NOPERM, a slot moved) aborts its transaction: report its
    // own error, not EXECABORT.
    for (const [err, v] of replies) if (err && !/EXECABORT/.test(err.message) && v === undefined) throw err;
    const execs = perKey ? keys.map((_, i) => i * 4 + 3) : [replies.length - 1];
    const results = execs.flatMap((at) => {
      const [err, v] = replies[at] ?? [new Error('no reply to EXEC')];
      if (err) throw err;
      if (!Array.isArray(v)) throw new Error(`EXEC answered ${String(v)}`);
      return v as unknown[];
    });
    const took = keys.map((_, i) => Number(results[2 * i]) === 1);
    const expiry = keys.map((_, i) => (took[i] ? Number(results[2 * i + 1]) : 0));
    // Second round only for the answers the first one leaves open: bytes of the keys written,
    // and whether a refused key still exists.
    const measured = keys.map((_, i) => measure !== false && mode === 'NX' && sampled(measure, i));
    const q = client.pipeline();
    keys.forEach((k, i) => (took[i] ? (measured[i] ? q.call('MEMORY', 'USAGE', k) : q.echo('')) : q.exists(k)));
    const second = (await q.exec()) ?? [];
    const status = took.map((ok, i): WriteStatus => (ok ? 'set' : Number(second[i]?.[1]) === 0 ? 'gone' : 'refused'));
    const left = (i: number) => (measure !== false && mode === 'NX' && !measured[i] ? NOT_SAMPLED : -1);
    const bytes = took.map((ok, i) =>
      ok && measured[i] && !second[i]?.[0] && typeof second[i]?.[1] === 'number' ? (second[i][1] as number) : ok ? left(i) : -1,
    );
    return { status, bytes, expiry };
  }

  async function writeLight(mode: WriteMode, keys: Buffer[], ttlMs: number[], measure: Measure): Promise<WriteResult> {
    if (useScript) {
      try {
        return await viaScript(mode, keys, ttlMs, measure);
      } catch (err) {
        refused(err);
      }
    }
    return viaPipeline(mode, keys, ttlMs, measure);
  }

  /** Scripts are refused here (rethrows anything else): the pipeline from now on. */
  function refused(err: unknown): void {
    if (!isPermissionDenied(err) && !SCRIPTS_UNAVAILABLE.test((err as Error).message)) throw err;
    useScript = false;
  }

  return {
    async scripted() {
      // A call on no keys: it writes nothing and proves EVAL of the script.
      if (useScript) await viaScript('NX', [], [], false).catch(refused);
      return useScript;
    },
    async write(mode, keys, ttlMs, measure) {
      if (keys.length === 0) return { status: [], bytes: [], expiry: [] };
      for (const t of ttlMs) assertKeyTtl(t, 'fix');
      const calls = callsOf(keys);
      if (calls.length === 1 && keys[0].length <= HEAVY_NAME_BYTES) return writeLight(mode, keys, ttlMs, measure);
      // One call at a time; a heavy name's write and the read of its expiry are one MULTI/EXEC of its own.
      const part = (indexes: number[]): Measure => (typeof measure === 'string' && measure.length > 1 ? indexes.map((i) => measure[i]).join('') : measure);
      const status = new Array<WriteStatus>(keys.length);
      const bytes = new Array<number>(keys.length);
      const expiry = new Array<number>(keys.length);
      let serverMs: number | undefined = 0;
      for (const indexes of calls) {
        const some = indexes.map((i) => keys[i]);
        const ttls = indexes.map((i) => ttlMs[i]);
        const r = await (some[0].length > HEAVY_NAME_BYTES ? viaPipeline(mode, some, ttls, part(indexes)) : writeLight(mode, some, ttls, part(indexes)));
        serverMs = serverMs === undefined || r.serverMs === undefined ? undefined : serverMs + r.serverMs;
        indexes.forEach((at, j) => {
          status[at] = r.status[j];
          bytes[at] = r.bytes[j];
          expiry[at] = r.expiry[j];
        });
      }
      return { status, bytes, expiry, ...(serverMs !== undefined ? { serverMs } : {}) };
    },
  };
}
