/**
 * Inspection with plain commands, for when a script cannot or should not do it: pipelined
 * commands per SCAN page (users who may not run EVAL), and single commands for keys whose
 * names are so long that every lookup is costly.
 */
import type { Redis } from 'ioredis';
import type { Inspection, PageInspector } from './inspection.js';
import { NO_TTL, UNMEASURED } from '../record.js';

/** Collections larger than this are measured with SAMPLES instead of walking every element. */
export const EXACT_MEMORY_LIMIT = 5000;
export const LARGE_KEY_SAMPLES = 1000;

/**
 * Inspect keys with single commands awaited one by one: for names so long that every
 * lookup is costly, no server call does more than one.
 */
export async function inspectOneByOne(client: Redis, keys: Buffer[], measuresMemory: boolean): Promise<Inspection> {
  const records: Inspection['records'] = [];
  let vanished = 0;
  for (const key of keys) {
    // A cluster node answers MOVED for a key of a slot it does not serve: gone here, read by its owner.
    const type = String(await client.type(key).catch((err: Error) => (/^(MOVED|ASK)\b/.test(err.message) ? 'none' : Promise.reject(err))));
    if (type === 'none') {
      vanished++;
      continue;
    }
    const pttl = Number(await client.pttl(key));
    if (pttl === -2) {
      vanished++;
      continue;
    }
    const lengthCommand = LENGTH_COMMAND[type];
    const length = lengthCommand ? Number(await client.call(lengthCommand, key)) : UNMEASURED;
    let bytes = UNMEASURED;
    if (measuresMemory) {
      const samples = length > EXACT_MEMORY_LIMIT ? String(LARGE_KEY_SAMPLES) : '0';
      const reply = await client.call('MEMORY', 'USAGE', key, 'SAMPLES', samples).catch(() => null);
      if (reply !== null) bytes = Number(reply);
    }
    records.push({ key, type, ttlMs: pttl < 0 ? NO_TTL : pttl, bytes, length });
  }
  return { records, vanished };
}

const LENGTH_COMMAND: Record<string, string> = { string: 'strlen', list: 'llen', set: 'scard', zset: 'zcard', hash: 'hlen', stream: 'xlen' };

export class PipelineInspector implements PageInspector {
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
    // An error for TYPE (a cluster node answering MOVED for a key of a slot it does not serve) counts the key as gone.
    const types = keys.map((_, i) => (r1[2 * i][0] ? 'none' : String(r1[2 * i][1])));
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
