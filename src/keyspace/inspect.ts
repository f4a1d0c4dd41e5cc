/**
 * One SCAN step plus inspection of the keys it returned (type, TTL, memory, length).
 *
 * Preferred: one `inspect.lua` call per step, so each step is one round trip and one
 * bounded server-side call. When the user may not run EVAL (managed services, tight ACLs),
 * the same figures come from pipelined commands; when MEMORY is forbidden too, bytes are
 * reported as unmeasured instead of failing the scan.
 */
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../lua/index.js';
import { isPermissionDenied } from '../target/errors.js';
import { NO_TTL, UNMEASURED, type KeyRecord } from './record.js';

export interface StepRequest {
  cursor: string;
  count: number;
  match?: string;
  type?: string;
}

export interface StepResult {
  cursor: string;
  /** Keys SCAN returned (including ones that vanished before inspection). */
  scanned: number;
  records: Omit<KeyRecord, 'db' | 'node'>[];
  vanished: number;
  /** Server-side duration of the step in ms, when the server reported it (Lua). */
  serverMs?: number;
}

/** Collections larger than this are measured with SAMPLES instead of walking every element. */
export const EXACT_MEMORY_LIMIT = 5000;
export const LARGE_KEY_SAMPLES = 1000;

export type InspectMethod = 'lua' | 'pipeline';

export interface Inspector {
  method: InspectMethod;
  measuresMemory: boolean;
  step(request: StepRequest): Promise<StepResult>;
}

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
    await lua.step({ cursor: '0', count: 1 });
    return lua;
  } catch (err) {
    if (!isPermissionDenied(err) && !/NOSCRIPT|scripts? (are|is) disabled|unknown command/i.test((err as Error).message)) throw err;
    return new PipelineInspector(client, memory);
  }
}

const TYPE_CODES: Record<string, string> = { s: 'string', l: 'list', S: 'set', z: 'zset', h: 'hash', x: 'stream' };

class LuaInspector implements Inspector {
  readonly method = 'lua';
  private readonly script = luaScript('inspect');
  constructor(
    private readonly client: Redis,
    readonly measuresMemory: boolean,
  ) {}

  async step(req: StepRequest): Promise<StepResult> {
    const reply = (await runScript(this.client, this.script, [
      req.cursor,
      String(req.count),
      req.match ?? '',
      req.type ?? '',
      this.measuresMemory ? '1' : '0',
      String(EXACT_MEMORY_LIMIT),
      String(LARGE_KEY_SAMPLES),
    ])) as [Buffer, Buffer[], Buffer, number];
    const result = decodeStats(reply[0].toString(), reply[1], reply[2].toString('latin1'));
    result.serverMs = Number(reply[3]) / 1000;
    return result;
  }
}

/** Decode inspect.lua's packed stats: "<t><pttl>,<bytes>,<length>;" per key, "-;" if gone. */
export function decodeStats(cursor: string, keys: Buffer[], stats: string): StepResult {
  const records: StepResult['records'] = [];
  let vanished = 0;
  let pos = 0;
  for (const key of keys) {
    const end = stats.indexOf(';', pos);
    let code = stats[pos];
    if (code === '-') {
      vanished++;
      pos = end + 1;
      continue;
    }
    let body = pos + 1;
    let type = TYPE_CODES[code];
    if (code === '?') {
      const bar = stats.indexOf('|', body);
      type = stats.slice(body, bar);
      body = bar + 1;
      code = '';
    }
    const c1 = stats.indexOf(',', body);
    const c2 = stats.indexOf(',', c1 + 1);
    const pttl = Number(stats.slice(body, c1));
    pos = end + 1;
    if (pttl === -2) {
      vanished++;
      continue;
    }
    records.push({ key, type, ttlMs: pttl < 0 ? NO_TTL : pttl, bytes: Number(stats.slice(c1 + 1, c2)), length: Number(stats.slice(c2 + 1, end)) });
  }
  return { cursor, scanned: keys.length, records, vanished };
}

const LENGTH_COMMAND: Record<string, string> = { string: 'strlen', list: 'llen', set: 'scard', zset: 'zcard', hash: 'hlen', stream: 'xlen' };

class PipelineInspector implements Inspector {
  readonly method = 'pipeline';
  constructor(
    private readonly client: Redis,
    readonly measuresMemory: boolean,
  ) {}

  async step(req: StepRequest): Promise<StepResult> {
    const args: Array<string | number> = [req.cursor, 'COUNT', req.count];
    if (req.match) args.push('MATCH', req.match);
    if (req.type) args.push('TYPE', req.type);
    const [next, keys] = (await this.client.scanBuffer(...(args as [string]))) as unknown as [Buffer, Buffer[]];
    if (keys.length === 0) return { cursor: next.toString(), scanned: 0, records: [], vanished: 0 };

    // Round 1: type, TTL and length-independent figures; round 2: length and memory, whose
    // form depends on the type (and on the length, to bound MEMORY USAGE on big keys).
    const first = this.client.pipeline();
    for (const key of keys) first.type(key).pttl(key);
    const r1 = (await first.exec()) ?? [];
    const types = keys.map((_, i) => String(r1[2 * i][1]));
    const ttls = keys.map((_, i) => Number(r1[2 * i + 1][1]));

    const lengths = await this.lengths(keys, types);
    const bytes = this.measuresMemory ? await this.memory(keys, types, lengths) : keys.map(() => UNMEASURED);

    const records: StepResult['records'] = [];
    let vanished = 0;
    keys.forEach((key, i) => {
      if (types[i] === 'none' || ttls[i] === -2) vanished++;
      else records.push({ key, type: types[i], ttlMs: ttls[i] < 0 ? NO_TTL : ttls[i], bytes: bytes[i], length: lengths[i] });
    });
    return { cursor: next.toString(), scanned: keys.length, records, vanished };
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
