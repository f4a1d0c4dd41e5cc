/**
 * Test keyspaces for the RDB tests: every type in its small (listpack/intset) and large
 * (dict/skiplist/quicklist) encodings, big elements, integers, TTLs; one pattern per
 * encoding so that per-pattern figures compare encoding by encoding.
 */
import type { Redis } from 'ioredis';

/** Deterministic pseudo-random numbers (tests must not depend on the run). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const word = (r: () => number, len: number) => {
  let out = '';
  while (out.length < len) out += Math.floor(r() * 36 ** 6).toString(36);
  return out.slice(0, len);
};

export interface PatternSpec {
  /** Key prefix; the pattern keywarden infers is `${prefix}*`. */
  prefix: string;
  type: string;
  /** Encoding Redis 7.0 gives these keys. */
  encoding: string;
}

export const PATTERNS: PatternSpec[] = [
  { prefix: 'str:int:', type: 'string', encoding: 'int' },
  { prefix: 'str:emb:', type: 'string', encoding: 'embstr' },
  { prefix: 'str:raw:', type: 'string', encoding: 'raw' },
  { prefix: 'str:big:', type: 'string', encoding: 'raw' },
  { prefix: 'list:small:', type: 'list', encoding: 'quicklist' },
  { prefix: 'list:big:', type: 'list', encoding: 'quicklist' },
  { prefix: 'list:ints:', type: 'list', encoding: 'quicklist' },
  { prefix: 'list:bigelem:', type: 'list', encoding: 'quicklist' },
  { prefix: 'hash:small:', type: 'hash', encoding: 'listpack' },
  { prefix: 'hash:big:', type: 'hash', encoding: 'hashtable' },
  { prefix: 'hash:longval:', type: 'hash', encoding: 'hashtable' },
  { prefix: 'set:int:', type: 'set', encoding: 'intset' },
  { prefix: 'set:str:', type: 'set', encoding: 'hashtable' },
  { prefix: 'set:big:', type: 'set', encoding: 'hashtable' },
  { prefix: 'set:bigint:', type: 'set', encoding: 'hashtable' },
  { prefix: 'zset:small:', type: 'zset', encoding: 'listpack' },
  { prefix: 'zset:big:', type: 'zset', encoding: 'skiplist' },
  { prefix: 'stream:', type: 'stream', encoding: 'stream' },
];

/** Write `perPattern` keys of every pattern (a tenth of them with a TTL). */
export async function writeDataset(client: Redis, perPattern: number, seed = 7): Promise<void> {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  for (let i = 0; i < perPattern; i++) {
    const p = client.pipeline();
    const id = String(i).padStart(6, '0');
    p.set(`str:int:${id}`, String(int(-1e12, 1e12)));
    p.set(`str:emb:${id}`, word(r, int(1, 44)));
    p.set(`str:raw:${id}`, word(r, int(45, 3000)));
    if (i % 10 === 0) p.set(`str:big:${id}`, word(r, int(20_000, 200_000)));
    p.rpush(`list:small:${id}`, ...Array.from({ length: int(1, 40) }, () => word(r, int(1, 30))));
    if (i % 5 === 0) p.rpush(`list:big:${id}`, ...Array.from({ length: int(500, 3000) }, () => word(r, int(1, 120))));
    if (i % 10 === 0) p.rpush(`list:bigelem:${id}`, ...Array.from({ length: int(1, 12) }, () => word(r, int(1000, 20_000))));
    p.rpush(`list:ints:${id}`, ...Array.from({ length: int(1, 200) }, () => String(int(-1e6, 1e9))));
    p.hset(`hash:small:${id}`, Object.fromEntries(Array.from({ length: int(1, 60) }, (_, j) => [`f${j}`, word(r, int(1, 60))])));
    if (i % 5 === 0) p.hset(`hash:big:${id}`, Object.fromEntries(Array.from({ length: int(129, 2000) }, (_, j) => [`field:${j}`, word(r, int(1, 100))])));
    p.hset(`hash:longval:${id}`, Object.fromEntries(Array.from({ length: int(1, 100) }, (_, j) => [`f${j}`, word(r, j === 0 ? int(65, 400) : int(1, 30))])));
    p.sadd(`set:int:${id}`, ...Array.from({ length: int(1, 500) }, () => String(int(-40000, 3e9))));
    p.sadd(`set:str:${id}`, ...Array.from({ length: int(1, 400) }, () => word(r, int(1, 40))));
    if (i % 5 === 0) p.sadd(`set:big:${id}`, ...Array.from({ length: int(600, 3000) }, () => word(r, int(1, 40))));
    if (i % 5 === 0) p.sadd(`set:bigint:${id}`, ...Array.from({ length: int(600, 3000) }, () => String(int(0, 1e12))));
    p.zadd(`zset:small:${id}`, ...Array.from({ length: int(1, 100) }, (_, j) => [j % 3 === 0 ? int(0, 1000) : r() * 1000, word(r, int(1, 50))]).flat());
    if (i % 5 === 0) p.zadd(`zset:big:${id}`, ...Array.from({ length: int(129, 2000) }, () => [r() * 1e6, word(r, int(1, 80))]).flat());
    if (i % 5 === 0) {
      for (let e = int(1, 300); e > 0; e--) p.xadd(`stream:${id}`, '*', 'user', word(r, 8), 'n', String(e));
      if (i % 10 === 0) {
        p.xgroup('CREATE', `stream:${id}`, 'g1', '0');
        p.xreadgroup('GROUP', 'g1', 'c1', 'COUNT', int(1, 20), 'STREAMS', `stream:${id}`, '>');
      }
    }
    if (i % 10 === 3) for (const spec of PATTERNS) p.pexpire(`${spec.prefix}${id}`, int(60_000, 86_400_000));
    await p.exec();
  }
}
