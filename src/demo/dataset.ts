/**
 * A reproduction of the missing-TTL incident, used by `keywarden demo`, the benchmarks and
 * the tests: a session store written without EX that holds most of the memory, caches and
 * tokens that do expire (some all in the same second), durable profiles, a rate limiter,
 * queues and one big leaderboard.
 */
import type { Redis } from 'ioredis';
import { seededRandom } from '../keyspace/walk/cursor.js';

export interface DatasetOptions {
  /** Total keys, roughly. Default 60 000. */
  keys?: number;
  /** Members of `leaderboard:global`. Default 10 000 (the benchmark uses 100 000). */
  leaderboardMembers?: number;
  /** Deterministic content for the same options. Default 42. */
  seed?: number;
}

/** Share of keys per family: the leaking sessions dominate, like in the incident. */
const MIX = {
  session: 0.6,
  cache: 0.2,
  profile: 0.08,
  ratelimit: 0.05,
  token: 0.04,
  verify: 0.02,
  queue: 0.01,
} as const satisfies Record<string, number>;

export interface DatasetSummary {
  keys: number;
  families: Record<keyof typeof MIX | 'leaderboard', number>;
}

/** Write the dataset through pipelines of 1000 commands. Returns how many keys of each family. */
export async function loadIncidentDataset(client: Redis, options: DatasetOptions = {}): Promise<DatasetSummary> {
  const total = options.keys ?? 60_000;
  // Deterministic, so the dataset is the same on every run.
  const rand = seededRandom(options.seed ?? 42);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  const counts = Object.fromEntries(Object.entries(MIX).map(([k, share]) => [k, Math.max(1, Math.round(total * share))])) as Record<keyof typeof MIX, number>;
  const stampede = Math.floor((Date.now() + 3_600_000) / 1000) * 1000; // tokens all expiring in one second, an hour from now

  const writers: Array<[number, (i: number, p: ReturnType<Redis['pipeline']>) => void]> = [
    // 12M sessions in the real incident: written with SET, no EX, ~300 bytes of JSON each.
    [counts.session, (i, p) => p.set(`session:${10_000_000 + i}`, sessionJson(i, hex(32)))],
    [counts.cache, (i, p) => p.set(`cache:product:${i}`, `{"id":${i},"name":"product ${i}","price":${(i % 997) + 0.99}}`, 'EX', 600 + (i % 3000))],
    [counts.profile, (i, p) => p.hset(`user:${35_000 + i}:profile`, 'name', `user ${i}`, 'email', `u${i}@example.com`, 'plan', i % 10 === 0 ? 'pro' : 'free')],
    [counts.ratelimit, (i, p) => p.set(`ratelimit:api:${i}:min`, String(i % 100), 'EX', 60)],
    [counts.token, (i, p) => p.set(`token:reset:${hex(24)}`, String(i), 'PXAT', stampede + (i % 2 === 0 ? 0 : (i % 7) * 1000))],
    [counts.verify, (i, p) => p.set(`email:verify:${hex(32)}`, `u${i}@example.com`, 'EX', 86_400)],
    [counts.queue, (i, p) => p.rpush(`queue:emails:${i}`, ...Array.from({ length: 5 }, (_, j) => `job-${i}-${j}`))],
  ];
  let p = client.pipeline();
  let queued = 0;
  for (const [count, write] of writers) {
    for (let i = 0; i < count; i++) {
      write(i, p);
      if (++queued % 1000 === 0) {
        await p.exec();
        p = client.pipeline();
      }
    }
  }
  await p.exec();
  const members = options.leaderboardMembers ?? 10_000;
  for (let start = 0; start < members; start += 1000) {
    const args: Array<string | number> = [];
    for (let i = start; i < Math.min(start + 1000, members); i++) args.push(Math.floor(rand() * 1e6), `player:${i}`);
    await client.zadd('leaderboard:global', ...args);
  }
  const keys = Object.values(counts).reduce((a, b) => a + b, 0) + 1;
  return { keys, families: { ...counts, leaderboard: 1 } };
}

function sessionJson(i: number, csrf: string): string {
  return JSON.stringify({ userId: 35_000 + (i % 50_000), csrf, cart: [i % 17, i % 23], createdAt: 1_700_000_000 + i, ua: 'Mozilla/5.0 (X11; Linux x86_64)' });
}
