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
import { EXACT_MEMORY_LIMIT, HEAVY_NAME_BYTES, inspectOneByOne, LARGE_KEY_SAMPLES, PipelineInspector, walkWithCommands } from './inspect-commands.js';
import type { Inspection, Inspector, PageInspector, ScriptInspector, WalkRequest, WalkStep } from './inspection.js';
import { NO_TTL, TTL_UNKNOWN, UNMEASURED } from './record.js';

export { EXACT_MEMORY_LIMIT, HEAVY_NAME_BYTES, LARGE_KEY_SAMPLES } from './inspect-commands.js';
export type { Inspection, InspectMethod, Inspector, PageInspector, ScriptInspector, WalkRequest, WalkStep } from './inspection.js';

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
    // A step over an empty page: read-only, and it proves EVAL of the script.
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

/**
 * Connections to nodes known to hold key names over HEAVY_NAME_BYTES: walked with plain
 * commands from then on, by every inspector on that connection (watch's later passes too).
 */
const HEAVY_NAME_NODES = new WeakSet<Redis>();

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
   * The first page's SCAN COUNT, also bounded by name bytes: the pacer sizes it by time,
   * which says nothing about the names the page will bring back. Before anything is known a
   * page is kept to 16 buckets.
   */
  private firstPage(pageCount: number): number {
    const byBytes = this.bytesPerBucket === undefined ? 16 : Math.floor((NAME_BYTES_PER_CALL * 0.75) / Math.max(this.bytesPerBucket, 1));
    return Math.max(1, Math.min(Math.round(pageCount), byBytes));
  }

  private async walkOutsideScript(r: WalkRequest): Promise<WalkStep> {
    const step = await walkWithCommands(this.client, r, this.firstPage(r.pageCount), this.measuresMemory);
    const perBucket = step.nameBytes / Math.max(step.scanned, 1);
    this.bytesPerBucket = Math.max(perBucket, (this.bytesPerBucket ?? 0) * 0.9);
    return step;
  }

  /**
   * One step. Once a node showed a heavy name, its walk goes on outside Lua: a script that
   * merely receives a 1 MB name from SCAN spends 2-30 ms making a Lua string of it, where a
   * plain SCAN returning it takes 0.3 ms. So at most one script call per node meets such a
   * name. (Reading every page first with a plain SCAN would make that zero, and halved the
   * default scan's throughput: bench/README.md, issue 14.)
   */
  async walk(r: WalkRequest): Promise<WalkStep> {
    if (HEAVY_NAME_NODES.has(this.client)) return this.walkOutsideScript(r);
    return this.scripted(r);
  }

  /**
   * Run the script once with a MATCH nothing matches: SCAN filters names before its reply is
   * made, so no name becomes a Lua string, and it proves this user may run the script.
   */
  async probe(): Promise<void> {
    // First the bytes of names per bucket, from one bucket read plainly, as a first step would.
    const [, keys] = (await this.client.callBuffer('SCAN', '0', 'COUNT', 1)) as [Buffer, Buffer[]];
    if (keys.some((k) => k.length > HEAVY_NAME_BYTES)) HEAVY_NAME_NODES.add(this.client);
    const bytesPerBucket = keys.reduce((sum, k) => sum + k.length, 0);
    await this.scripted({ cursor: '0', pageCount: 1, budgetMs: 0, maxKeys: 1, stopAt: 1, tableKeys: 1, match: '__keywarden_probe__:no-such-key' });
    this.bytesPerBucket = bytesPerBucket;
  }

  /** One scan-inspect.lua call from `r.cursor`. */
  private async scripted(r: WalkRequest): Promise<WalkStep> {
    const args = [
      r.cursor,
      String(this.firstPage(r.pageCount)),
      String(Math.round(r.budgetMs * 1000)),
      String(Math.max(0, Math.round(r.maxKeys))),
      String(r.stopAt),
      String(r.tableKeys),
      this.measuresMemory ? '1' : '0',
      String(EXACT_MEMORY_LIMIT),
      String(LARGE_KEY_SAMPLES),
      r.match ?? '',
      r.type ?? '',
      String(NAME_BYTES_PER_CALL),
      String(HEAVY_NAME_BYTES),
    ];
    const [next, blob, micros, asked, records, nameBytes, deferred] = (await runScript(this.client, this.script, args)) as [
      Buffer,
      Buffer,
      number,
      number,
      number,
      number,
      Buffer[],
    ];
    const perBucket = Number(nameBytes) / Math.max(Number(asked), 1);
    // A peak that decays, not a mean: heavy names are rare (one bucket in fifty), and a mean
    // would size the next page for the light buckets around them.
    this.bytesPerBucket = Math.max(perBucket, (this.bytesPerBucket ?? 0) * 0.9);
    // Keys with heavy names, read one command at a time: never several lookups of them in one call.
    const heavy = deferred.length > 0 ? await inspectOneByOne(this.client, deferred, this.measuresMemory) : undefined;
    if (deferred.length > 0) HEAVY_NAME_NODES.add(this.client);
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
