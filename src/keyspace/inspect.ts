/**
 * Inspection of the keys one SCAN page returned: type, TTL, memory and length.
 *
 * Preferred: one `inspect-keys.lua` call per page, a single bounded server-side call that
 * also reports how long it took. The scanner keeps the next SCAN and up to a few of these in
 * flight, so the server never idles on a round trip. When the user may not run EVAL
 * (managed services, tight ACLs), the same figures come from pipelined commands; when MEMORY
 * is forbidden too, bytes are reported as unmeasured instead of failing the scan.
 */
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../lua/index.js';
import { isPermissionDenied } from '../target/errors.js';
import { NO_TTL, TTL_UNKNOWN, UNMEASURED, type KeyRecord } from './record.js';

export interface Inspection {
  records: Omit<KeyRecord, 'db' | 'node'>[];
  /** Keys gone (deleted or expired) between SCAN and inspection. */
  vanished: number;
  /** Server-side duration of the call in ms, when the server reported it (Lua). */
  serverMs?: number;
}

/** Collections larger than this are measured with SAMPLES instead of walking every element. */
export const EXACT_MEMORY_LIMIT = 5000;
export const LARGE_KEY_SAMPLES = 1000;

export type InspectMethod = 'lua' | 'pipeline' | 'none';

export interface Inspector {
  method: InspectMethod;
  measuresMemory: boolean;
  inspect(keys: Buffer[]): Promise<Inspection>;
}

/**
 * No inspection at all: records carry only the key (type 'unknown', TTL_UNKNOWN). For
 * consumers whose own write answers the question, like `fix --apply` with EXPIRE … NX.
 */
export const keysOnly: Inspector = {
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
    await lua.inspect([]);
    return lua;
  } catch (err) {
    if (!isPermissionDenied(err) && !/NOSCRIPT|scripts? (are|is) disabled|unknown command/i.test((err as Error).message)) throw err;
    return new PipelineInspector(client, memory);
  }
}

class LuaInspector implements Inspector {
  readonly method = 'lua';
  private readonly script = luaScript('inspect-keys');
  private readonly options: string[];
  constructor(
    private readonly client: Redis,
    readonly measuresMemory: boolean,
  ) {
    this.options = [measuresMemory ? '1' : '0', String(EXACT_MEMORY_LIMIT), String(LARGE_KEY_SAMPLES)];
  }

  async inspect(keys: Buffer[]): Promise<Inspection> {
    const reply = (await runScript(this.client, this.script, [...this.options, ...keys])) as Array<number | Buffer>;
    const result = decodeInspection(keys, reply);
    result.serverMs = Number(reply[reply.length - 1]) / 1000;
    return result;
  }
}

const TYPE_CODES = ['', 'string', 'list', 'set', 'zset', 'hash', 'stream'];

/** Decode inspect-keys.lua's reply: four values per key (type, pttl, bytes, length). */
export function decodeInspection(keys: Buffer[], reply: Array<number | Buffer>): Inspection {
  const records: Inspection['records'] = [];
  let vanished = 0;
  for (let i = 0; i < keys.length; i++) {
    const code = reply[4 * i];
    const pttl = reply[4 * i + 1] as number;
    if (code === 0 || pttl === -2) {
      vanished++;
      continue;
    }
    const type = typeof code === 'number' ? TYPE_CODES[code] : code.toString();
    records.push({ key: keys[i], type, ttlMs: pttl < 0 ? NO_TTL : pttl, bytes: reply[4 * i + 2] as number, length: reply[4 * i + 3] as number });
  }
  return { records, vanished };
}

const LENGTH_COMMAND: Record<string, string> = { string: 'strlen', list: 'llen', set: 'scard', zset: 'zcard', hash: 'hlen', stream: 'xlen' };

class PipelineInspector implements Inspector {
  readonly method = 'pipeline';
  constructor(
    private readonly client: Redis,
    readonly measuresMemory: boolean,
  ) {}

  async inspect(keys: Buffer[]): Promise<Inspection> {
    if (keys.length === 0) return { records: [], vanished: 0 };
    // Round 1: type and TTL; round 2: length and memory, whose form depends on the type
    // (and on the length, to bound MEMORY USAGE on big keys).
    const first = this.client.pipeline();
    for (const key of keys) first.type(key).pttl(key);
    const r1 = (await first.exec()) ?? [];
    const types = keys.map((_, i) => String(r1[2 * i][1]));
    const ttls = keys.map((_, i) => Number(r1[2 * i + 1][1]));

    const lengths = await this.lengths(keys, types);
    const bytes = this.measuresMemory ? await this.memory(keys, types, lengths) : keys.map(() => UNMEASURED);

    const records: Inspection['records'] = [];
    let vanished = 0;
    keys.forEach((key, i) => {
      if (types[i] === 'none' || ttls[i] === -2) vanished++;
      else records.push({ key, type: types[i], ttlMs: ttls[i] < 0 ? NO_TTL : ttls[i], bytes: bytes[i], length: lengths[i] });
    });
    return { records, vanished };
  }

  private async lengths(keys: Buffer[], types: string[]): Promise<number[]> {
    const p = this.client.pipeline();
    keys.forEach((key, i) => p.call(LENGTH_COMMAND[types[i]] ?? 'exists', key));
    const r = (await p.exec()) ?? [];
    return r.map(([err, v], i) => (err || !LENGTH_COMMAND[types[i]] ? UNMEASURED : Number(v)));
  }

  private async memory(keys: Buffer[], types: string[], lengths: number[]): Promise<number[]> {
    const p = this.client.pipeline();
    keys.forEach((key, i) => p.call('MEMORY', 'USAGE', key, 'SAMPLES', lengths[i] > EXACT_MEMORY_LIMIT ? String(LARGE_KEY_SAMPLES) : '0'));
    const r = (await p.exec()) ?? [];
    return r.map(([err, v]) => (err || v === null ? UNMEASURED : Number(v)));
  }
}
