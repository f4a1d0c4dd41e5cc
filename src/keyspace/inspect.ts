/**
 * Inspection of keys: type, TTL, memory and length.
 *
 * Preferred: `scan-inspect.lua`, which reads SCAN pages and inspects their keys inside one
 * server-side call that stops when its time budget is spent (a ScriptInspector: the scanner
 * asks it to walk on from a cursor). When the user may not run EVAL (managed services, tight
 * ACLs), the scanner reads SCAN pages itself and a PageInspector inspects each page with
 * pipelined commands; when MEMORY is forbidden too, bytes are reported as unmeasured
 * instead of failing the scan.
 */
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../lua/index.js';
import { isPermissionDenied } from '../target/errors.js';
import { cursorPosition } from './cursor.js';
import { EXACT_MEMORY_LIMIT, HEAVY_NAME_BYTES, holdsHeavyName, inspectOneByOne, inspectPage, LARGE_KEY_SAMPLES, PipelineInspector, readPage, type PlainPage } from './inspect-commands.js';
import { NO_TTL, TTL_UNKNOWN, UNMEASURED, type KeyRecord } from './record.js';

export interface Inspection {
  records: Omit<KeyRecord, 'db' | 'node'>[];
  /** Keys gone (deleted or expired) between SCAN and inspection. */
  vanished: number;
}

export { EXACT_MEMORY_LIMIT, HEAVY_NAME_BYTES, LARGE_KEY_SAMPLES } from './inspect-commands.js';

export type InspectMethod = 'lua' | 'pipeline' | 'none';

/** Inspects the keys of SCAN pages the scanner read itself. */
export interface PageInspector {
  method: 'pipeline' | 'none';
  measuresMemory: boolean;
  inspect(keys: Buffer[]): Promise<Inspection>;
}

/** Walks on from a cursor and inspects what it reads, in one bounded server-side call. */
export interface ScriptInspector {
  method: 'lua';
  measuresMemory: boolean;
  walk(request: WalkRequest): Promise<WalkStep>;
}

export type Inspector = PageInspector | ScriptInspector;

export interface WalkRequest {
  cursor: string;
  /** SCAN COUNT per page inside the call. */
  pageCount: number;
  /** Server time after which the call reads no further page. */
  budgetMs: number;
  /** Most keys to return, 0 for no limit. */
  maxKeys: number;
  /** Walk position at which to stop (sample stretches), 1 for the whole walk. */
  stopAt: number;
  /** Keys in the table, to size the last page before `stopAt`. */
  tableKeys: number;
  match?: string;
  type?: string;
}

export interface WalkStep {
  next: string;
  /** Server-side duration of the call (from the server's own clock). */
  serverMs: number;
  /** Keys read in this step (vanished ones included). */
  keys: number;
  /** SCAN COUNT asked for in all: the step's size in the unit its cost is paced by. */
  scanned: number;
  /** Decode the records; kept apart so the scanner can send the next call first. */
  decode(): Inspection;
}

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
export async function createInspector(client: Redis, measureMemory = true): Promise<Inspector> {
  let memory = measureMemory;
  if (memory) {
    memory = await client.call('MEMORY', 'USAGE', '__keywarden_probe__').then(
      () => true,
      (err: Error) => !isPermissionDenied(err),
    );
  }
  const lua = new LuaInspector(client, memory);
  try {
    // A one-bucket step: read-only, and it proves EVAL, SCAN and the inspection commands.
    await lua.probe();
    return lua;
  } catch (err) {
    if (!isPermissionDenied(err) && !/NOSCRIPT|scripts? (are|is) disabled|unknown command/i.test((err as Error).message)) throw err;
    return new PipelineInspector(client, memory);
  }
}

/**
 * Bytes of key names one scan-inspect call may touch. Every command on a key hashes and
 * compares its whole name: at about 1 GB/s, 256 KiB of names inspected is a fraction of a
 * millisecond, while a page of 1 MB names read in one call blocked a server for 40–100 ms.
 */
export const NAME_BYTES_PER_CALL = 256 * 1024;

/** The share of a call's budget the pacer sizes its first page to (Pacer.nextCall('fill')). */
const FIRST_PAGE_SHARE = 0.75;

class LuaInspector implements ScriptInspector {
  readonly method = 'lua';
  private readonly script = luaScript('scan-inspect');
  /** Recent peak of key-name bytes per SCAN bucket on this node; unknown until the first call. */
  private bytesPerBucket: number | undefined;

  constructor(
    private readonly client: Redis,
    readonly measuresMemory: boolean,
  ) {}

  /**
   * The page's SCAN COUNT, also bounded by name bytes: the pacer sizes it by time, which
   * says nothing about the names the page will bring back. Before anything is known a page
   * is kept to 16 buckets.
   */
  private firstPage(pageCount: number): number {
    const byBytes = this.bytesPerBucket === undefined ? 16 : Math.floor((NAME_BYTES_PER_CALL * 0.75) / Math.max(this.bytesPerBucket, 1));
    return Math.max(1, Math.min(Math.round(pageCount), byBytes));
  }

  /** Proves EVAL, SCAN and (on a key with a light name) the inspection commands, on one bucket. */
  async probe(): Promise<void> {
    const r: WalkRequest = { cursor: '0', pageCount: 1, budgetMs: 0, maxKeys: 1, stopAt: 1, tableKeys: 1 };
    const page = await readPage(this.client, r, 1);
    // A heavy name is never handed to the script: a MATCH nothing matches still proves EVAL and SCAN.
    await this.run(holdsHeavyName(page.keys) ? { ...r, match: '__keywarden_probe__' } : r, page, 1);
  }

  /**
   * Each step's SCAN page is read first with a plain SCAN (a fraction of a millisecond even
   * when it returns 1 MB names), and the script then reads the same buckets, from the same
   * cursor with the same COUNT, up to the cursor that page ended at. A page holding a name
   * over HEAVY_NAME_BYTES never goes to the script: its keys are inspected with plain
   * commands, the heavy ones one command each. A script that merely receives a 1 MB name
   * from its SCAN spends 2-30 ms making a Lua string of it. A heavy key written into those
   * buckets between the two reads still meets the script's own byte budget and deferral.
   */
  async walk(r: WalkRequest): Promise<WalkStep> {
    const started = performance.now();
    // The call reads this one page: sized to the whole budget, not to its first page's share.
    const page = await readPage(this.client, r, this.firstPage(r.pageCount / FIRST_PAGE_SHARE));
    // A peak that decays, not a mean: heavy names are rare (one bucket in fifty), and a mean
    // would size the next page for the light buckets around them.
    this.bytesPerBucket = Math.max(page.nameBytes / Math.max(page.asked, 1), (this.bytesPerBucket ?? 0) * 0.9);
    if (page.keys.length === 0 || holdsHeavyName(page.keys)) return inspectPage(this.client, page, this.measuresMemory, started);
    // Never past the stretch's end: a page read bucket by bucket can end on a cursor past it.
    return this.run(r, page, Math.min(r.stopAt, page.next === '0' ? 1 : cursorPosition(page.next)));
  }

  private async run(r: WalkRequest, page: PlainPage, stopAt: number): Promise<WalkStep> {
    const args = [
      r.cursor,
      String(page.count),
      String(Math.round(r.budgetMs * 1000)),
      String(Math.max(0, Math.round(r.maxKeys))),
      String(stopAt),
      // The page's end is known: a table size this large keeps the script's page at `page.count`.
      String(2 ** 40),
      this.measuresMemory ? '1' : '0',
      String(EXACT_MEMORY_LIMIT),
      String(LARGE_KEY_SAMPLES),
      r.match ?? '',
      r.type ?? '',
      String(NAME_BYTES_PER_CALL),
      String(HEAVY_NAME_BYTES),
    ];
    const [next, blob, micros, asked, records, , deferred] = (await runScript(this.client, this.script, args)) as [Buffer, Buffer, number, number, number, number, Buffer[]];
    // Keys with heavy names written since the page was read: one command at a time.
    const heavy = deferred.length > 0 ? await inspectOneByOne(this.client, deferred, this.measuresMemory) : undefined;
    return {
      next: next.toString(),
      serverMs: Number(micros) / 1000,
      keys: Number(records),
      scanned: Number(asked),
      decode: () => {
        const inspection = decodeRecords(blob);
        if (heavy) {
          inspection.records.push(...heavy.records);
          inspection.vanished += heavy.vanished;
        }
        return inspection;
      },
    };
  }
}

const TYPE_CODES = ['', 'string', 'list', 'set', 'zset', 'hash', 'stream'];
/** struct '<I4Bddd': key length, type code, pttl, bytes, length. */
const HEADER = 29;
const MODULE_TYPE = 7;

/** Decode scan-inspect.lua's packed records (layout in the script's header). */
export function decodeRecords(blob: Buffer): Inspection {
  const records: Inspection['records'] = [];
  let vanished = 0;
  let o = 0;
  while (o < blob.length) {
    const keyLength = blob.readUInt32LE(o);
    const code = blob[o + 4];
    const pttl = blob.readDoubleLE(o + 5);
    const bytes = blob.readDoubleLE(o + 13);
    const length = blob.readDoubleLE(o + 21);
    o += HEADER;
    let type = TYPE_CODES[code];
    if (code === MODULE_TYPE) {
      type = blob.toString('latin1', o + 1, o + 1 + blob[o]);
      o += 1 + blob[o];
    }
    // A copy: a view would keep the whole reply alive for as long as one key is kept.
    const key = Buffer.from(blob.subarray(o, o + keyLength));
    o += keyLength;
    if (code === 0 || pttl === -2) {
      vanished++;
      continue;
    }
    records.push({ key, type, ttlMs: pttl < 0 ? NO_TTL : pttl, bytes, length });
  }
  return { records, vanished };
}
