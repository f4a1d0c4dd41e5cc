/**
 * Inspection of keys: type, TTL, memory and length.
 *
 * The read steps read SCAN pages with plain SCAN calls and hand each page's keys to an
 * inspector. Preferred: `inspect-keys.lua`, which inspects them inside one server-side call
 * that stops when its time budget is spent. When the user may not run EVAL (managed
 * services, tight ACLs), pipelined commands do it; when MEMORY is forbidden too, bytes are
 * reported as unmeasured instead of failing the scan.
 */
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../../lua/index.js';
import { isPermissionDenied } from '../../target/errors.js';
import { EXACT_MEMORY_LIMIT, inspectOneByOne, LARGE_KEY_SAMPLES, PipelineInspector } from './inspect-commands.js';
import { callsOf, HEAVY_NAME_BYTES } from '../walk/calls.js';
import type { Inspection, InspectStep, NextPage, PageInspector } from './inspection.js';
import { NO_TTL, TTL_UNKNOWN, UNMEASURED } from '../record.js';

export type { Inspection, InspectMethod, NextPage, PageInspector } from './inspection.js';

/**
 * No inspection at all: records carry only the key (type 'unknown', TTL_UNKNOWN). For
 * consumers whose own write answers the question, like `fix --apply` with EXPIRE … NX.
 */
export const keysOnly: PageInspector = {
  method: 'none',
  measuresMemory: false,
  async inspect(keys) {
    return { records: keys.map((key) => ({ key, type: 'unknown', ttlMs: TTL_UNKNOWN, bytes: UNMEASURED, length: UNMEASURED })), vanished: 0 };
  },
};

/** Pick the fastest inspection this user is allowed, probing permissions once per node. */
export async function createInspector(client: Redis, measureMemory = true): Promise<PageInspector> {
  let memory = measureMemory;
  if (memory) {
    memory = await client.call('MEMORY', 'USAGE', '__keywarden_probe__').then(
      () => true,
      (err: Error) => !isPermissionDenied(err),
    );
  }
  const lua = new LuaInspector(client, memory);
  try {
    // A call on no keys: read-only, and it proves EVAL of the script.
    await lua.step([], 0);
    return lua;
  } catch (err) {
    if (!isPermissionDenied(err) && !/NOSCRIPT|scripts? (are|is) disabled|unknown command/i.test((err as Error).message)) throw err;
    return new PipelineInspector(client, memory);
  }
}

/** A call's time budget when the caller gives none. */
const DEFAULT_BUDGET_MS = 0.5;

/**
 * Inspection by inspect-keys.lua: the keys of a page go to the server packed in one argument
 * and come back as one packed string of records, a few calls at most per page. Keys whose
 * names are over HEAVY_NAME_BYTES are inspected with single commands, each one lookup long.
 */
class LuaInspector implements PageInspector {
  readonly method = 'lua';
  private readonly script = luaScript('inspect-keys');

  constructor(
    private readonly client: Redis,
    readonly measuresMemory: boolean,
  ) {}

  async inspect(keys: Buffer[], budgetMs = DEFAULT_BUDGET_MS): Promise<Inspection> {
    const records: Inspection['records'] = [];
    let vanished = 0;
    let serverMs = 0;
    for (const call of callsOf(keys)) {
      const batch = call.map((i) => keys[i]);
      if (batch[0].length > HEAVY_NAME_BYTES) {
        const started = performance.now();
        const single = await inspectOneByOne(this.client, batch, this.measuresMemory);
        records.push(...single.records);
        vanished += single.vanished;
        serverMs += performance.now() - started;
        continue;
      }
      // A call stops at its budget; the keys it did not reach go in the next.
      for (let from = 0; from < batch.length;) {
        const sent = from === 0 ? batch : batch.slice(from);
        const step = await this.step(sent, budgetMs);
        const decoded = step.sent(step.done === sent.length ? sent : sent.slice(0, step.done));
        serverMs += step.serverMs;
        vanished += decoded.vanished;
        for (const r of decoded.records) records.push(r);
        from += Math.max(step.done, 1);
      }
    }
    return { records, vanished, serverMs };
  }

  /** One call of the script: `keys` (light names only, at most NAME_BYTES_PER_CALL of them) and then the page `next`. */
  async step(keys: Buffer[], budgetMs: number, next?: NextPage): Promise<InspectStep> {
    const args: Array<string | Buffer> = [
      this.measuresMemory ? '1' : '0',
      String(EXACT_MEMORY_LIMIT),
      String(LARGE_KEY_SAMPLES),
      String(Math.round(budgetMs * 1000)),
      // No Buffer argument when there is nothing to send: ioredis writes a command with one as several chunks.
      keys.length > 0 ? pack(keys) : '',
    ];
    if (next) args.push(next.cursor, String(next.count), next.match ?? '', next.type ?? '', String(next.longest), String(next.bytes), String(next.most));
    const reply = (await runScript(this.client, this.script, args)) as [Buffer, number, number, Buffer, Buffer, number, Buffer, number, number, number];
    const cursor = reply[3].toString();
    const step: InspectStep = {
      done: Number(reply[2]),
      serverMs: Number(reply[1]) / 1000,
      heavy: cursor === '-',
      sent: (sent) => decoded(reply[0], sent),
    };
    if (cursor.length > 0 && !step.heavy) {
      step.page = {
        next: cursor,
        asked: Number(reply[7]),
        found: Number(reply[8]),
        bytes: Number(reply[9]),
        done: Number(reply[5]),
        inspected: () => decoded(reply[4]),
        left: () => unpackKeys(reply[6]),
      };
    }
    return step;
  }
}

/** Keys packed by inspect-keys.lua (as `pack` packs them), as views of the reply: no copies. */
function unpackKeys(blob: Buffer): Buffer[] {
  const keys: Buffer[] = [];
  for (let o = 0; o < blob.length;) {
    const length = blob.readUInt32LE(o);
    keys.push(blob.subarray(o + 4, o + 4 + length));
    o += 4 + length;
  }
  return keys;
}

/** Keys packed for inspect-keys.lua: per key, its length ('<I4') and the key. */
function pack(keys: Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(keys.reduce((size, k) => size + 4 + k.length, 0));
  let o = 0;
  for (const k of keys) {
    out.writeUInt32LE(k.length, o);
    k.copy(out, o + 4);
    o += 4 + k.length;
  }
  return out;
}

const TYPE_CODES = ['', 'string', 'list', 'set', 'zset', 'hash', 'stream'];
/** struct '<Bddd': type code, pttl, bytes, length. */
const HEADER = 25;
const MODULE_TYPE = 7;

/** `decodeRecords` into a new list. */
function decoded(blob: Buffer, keys?: Buffer[]): Pick<Inspection, 'records' | 'vanished'> {
  const records: Inspection['records'] = [];
  return { records, vanished: decodeRecords(blob, keys, records) };
}

/**
 * Decode inspect-keys.lua's packed records (layout in the script's header) into `records`;
 * returns how many keys were gone. Records of the keys sent are one per key of `keys`, in
 * order; page records (`keys` undefined) carry their key, its length before the record and
 * the name after it, as views of the blob: no copies.
 */
export function decodeRecords(blob: Buffer, keys: Buffer[] | undefined, records: Inspection['records']): number {
  let vanished = 0;
  for (let o = 0, i = 0; o < blob.length; i++) {
    const keyLength = keys ? 0 : blob.readUInt32LE(o);
    if (!keys) o += 4;
    const code = blob[o];
    const pttl = blob.readDoubleLE(o + 1);
    const bytes = blob.readDoubleLE(o + 9);
    const length = blob.readDoubleLE(o + 17);
    o += HEADER;
    let type = TYPE_CODES[code];
    if (code === MODULE_TYPE) {
      type = blob.toString('latin1', o + 1, o + 1 + blob[o]);
      o += 1 + blob[o];
    }
    const key = keys ? keys[i] : blob.subarray(o, o + keyLength);
    o += keyLength;
    if (code === 0 || pttl === -2) vanished++;
    else records.push({ key, type, ttlMs: pttl < 0 ? NO_TTL : pttl, bytes, length });
  }
  return vanished;
}
