/**
 * bench:guard — the cost of the guard against the raw client, same workload, same run.
 *
 * For ioredis and node-redis against a local redis-server (started here on a free port):
 * sequential awaited commands and 1000-command pipelines of SET without a TTL (the guard
 * appends PX), SET with EX (the guard only inspects), and HSET (the guard adds PEXPIRE … NX
 * in a MULTI, or in the same pipeline). Raw and guarded runs alternate round by round, and the
 * median of the rounds is reported. For HSET the hand-written safe version (MULTI HSET +
 * PEXPIRE NX) is measured too: that, not a bare HSET that leaks, is what the guard replaces.
 *
 * Usage: npm run bench:guard  (env: BENCH_ROUNDS, BENCH_SEQ, BENCH_PIPELINES)
 */
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { guard } from '../src/guard/index.js';
import { startRedis } from '../test/support/redis.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SEQ = Number(process.env.BENCH_SEQ ?? 4000);
const PIPELINES = Number(process.env.BENCH_PIPELINES ?? 20);
const BATCH = 1000;
const POLICY = { rules: [{ match: 'session:*', ttl: '24h' }, { match: 'cache:*', ttl: '1h', jitter: '10%' }] };

/** One workload: `run(client, round)` sends `ops` commands. */
interface Workload {
  name: string;
  ops: number;
  run(client: unknown, round: number): Promise<void>;
}

type Io = Redis;
type Node = ReturnType<typeof createClient>;

function ioredisWorkloads(): Workload[] {
  const seq = (name: string, op: (c: Io, i: number, r: number) => Promise<unknown>): Workload => ({
    name: `seq ${name}`,
    ops: SEQ,
    async run(c, r) {
      for (let i = 0; i < SEQ; i++) await op(c as Io, i, r);
    },
  });
  const pipe = (name: string, add: (p: ReturnType<Io['pipeline']>, i: number, r: number) => void): Workload => ({
    name: `pipeline ${name}`,
    ops: PIPELINES * BATCH,
    async run(c, r) {
      for (let b = 0; b < PIPELINES; b++) {
        const p = (c as Io).pipeline();
        for (let i = 0; i < BATCH; i++) add(p, b * BATCH + i, r);
        await p.exec();
      }
    },
  });
  return [
    seq('SET (no TTL)', (c, i, r) => c.set(`cache:${r}:${i}`, 'value')),
    seq('SET … EX', (c, i, r) => c.set(`cache:${r}:${i}`, 'value', 'EX', 3600)),
    seq('HSET', (c, i, r) => c.hset(`session:${r}:${i}`, 'user', 'ada')),
    pipe('SET (no TTL)', (p, i, r) => p.set(`cache:${r}:${i}`, 'value')),
    pipe('SET … EX', (p, i, r) => p.set(`cache:${r}:${i}`, 'value', 'EX', 3600)),
    pipe('HSET', (p, i, r) => p.hset(`session:${r}:${i}`, 'user', 'ada')),
  ];
}

function nodeRedisWorkloads(): Workload[] {
  const seq = (name: string, op: (c: Node, i: number, r: number) => Promise<unknown>): Workload => ({
    name: `seq ${name}`,
    ops: SEQ,
    async run(c, r) {
      for (let i = 0; i < SEQ; i++) await op(c as Node, i, r);
    },
  });
  const pipe = (name: string, add: (m: ReturnType<Node['multi']>, i: number, r: number) => void): Workload => ({
    name: `pipeline ${name}`,
    ops: PIPELINES * BATCH,
    async run(c, r) {
      for (let b = 0; b < PIPELINES; b++) {
        const m = (c as Node).multi();
        for (let i = 0; i < BATCH; i++) add(m, b * BATCH + i, r);
        await m.execAsPipeline();
      }
    },
  });
  return [
    seq('SET (no TTL)', (c, i, r) => c.set(`cache:${r}:${i}`, 'value')),
    seq('SET … EX', (c, i, r) => c.set(`cache:${r}:${i}`, 'value', { EX: 3600 })),
    seq('HSET', (c, i, r) => c.hSet(`session:${r}:${i}`, 'user', 'ada')),
    pipe('SET (no TTL)', (m, i, r) => m.set(`cache:${r}:${i}`, 'value')),
    pipe('SET … EX', (m, i, r) => m.set(`cache:${r}:${i}`, 'value', { EX: 3600 })),
    pipe('HSET', (m, i, r) => m.hSet(`session:${r}:${i}`, 'user', 'ada')),
  ];
}

/** The hand-written crash-safe HSET (MULTI HSET + PEXPIRE NX) on the raw client. */
function handWritten(library: 'ioredis' | 'node-redis'): Workload {
  return {
    name: 'seq HSET+PEXPIRE NX by hand (MULTI)',
    ops: SEQ,
    async run(c, r) {
      for (let i = 0; i < SEQ; i++) {
        const key = `session:${r}:${i}`;
        if (library === 'ioredis') await (c as Io).multi().hset(key, 'user', 'ada').pexpire(key, 86_400_000, 'NX').exec();
        else await (c as Node).multi().hSet(key, 'user', 'ada').pExpire(key, 86_400_000, 'NX').exec();
      }
    },
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function time(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

interface Row {
  library: string;
  workload: string;
  rawOps: number;
  guardOps: number;
  ratio: number;
}

async function measure(library: string, workloads: Workload[], raw: unknown, guarded: unknown, reference?: Workload): Promise<Row[]> {
  const rows: Row[] = [];
  for (const w of workloads) {
    const rawMs: number[] = [];
    const guardMs: number[] = [];
    await w.run(raw, -1); // warm-up, both paths
    await w.run(guarded, -2);
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which side goes first, so drift (other load, memory growth) hits both alike.
      const order: Array<[unknown, number[]]> = r % 2 === 0 ? [[raw, rawMs], [guarded, guardMs]] : [[guarded, guardMs], [raw, rawMs]];
      for (const [client, out] of order) out.push(await time(() => w.run(client, r)));
    }
    const rawMedian = median(rawMs);
    const guardMedian = median(guardMs);
    rows.push({ library, workload: w.name, rawOps: (w.ops / rawMedian) * 1000, guardOps: (w.ops / guardMedian) * 1000, ratio: guardMedian / rawMedian });
    if (reference && w.name === 'seq HSET') {
      const refMs: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
          refMs.push(await time(() => reference.run(raw, r)));
      }
      const refMedian = median(refMs);
      rows.push({ library, workload: `${reference.name} vs guard`, rawOps: (SEQ / refMedian) * 1000, guardOps: (SEQ / guardMedian) * 1000, ratio: guardMedian / refMedian });
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const server = await startRedis();
  const io = new Redis(server.url);
  const ioGuarded = guard(new Redis(server.url), { policy: POLICY });
  const node = await createClient({ url: server.url }).connect();
  const nodeGuarded = guard(await createClient({ url: server.url }).connect(), { policy: POLICY });
  const version = /redis_version:(\S+)/.exec(await io.info('server'))?.[1];
  try {
    process.stderr.write(`bench:guard — redis ${version}, node ${process.version}, ${cpus().length} cores; ${ROUNDS} rounds, ${SEQ} sequential ops, ${PIPELINES}×${BATCH} pipelined ops per workload\n`);
    const rows = [
      ...(await measure('ioredis', ioredisWorkloads(), io, ioGuarded, handWritten('ioredis'))),
      ...(await measure('node-redis', nodeRedisWorkloads(), node, nodeGuarded, handWritten('node-redis'))),
    ];
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const lines = ['| client | workload | raw ops/s | guard ops/s | guard time / raw time |', '| --- | --- | ---: | ---: | ---: |'];
    for (const r of rows) lines.push(`| ${r.library} | ${r.workload} | ${fmt(r.rawOps)} | ${fmt(r.guardOps)} | ${r.ratio.toFixed(2)}× |`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    io.disconnect();
    ioGuarded.disconnect();
    await node.close();
    await nodeGuarded.close();
    await server.stop();
  }
}

await main();
