/**
 * bench:guard — the cost of the guard against the raw client, same workload, same run.
 *
 * For ioredis and node-redis against a local redis-server (started here on a free port):
 * sequential awaited commands and 1000-command pipelines of SET without a TTL (the guard
 * appends PX), SET with EX (the guard only inspects), and HSET (the guard adds PEXPIRE … NX
 * in a MULTI, or in the same pipeline). Raw and guarded runs alternate round by round; the
 * best round of each is reported (wall time and this process's CPU time), and the median of the
 * per-round ratios with its interquartile range. Where the guard changes what goes on the wire, the raw
 * client sending that same thing by hand is measured too: guard vs that is the guard's own
 * cost; guard vs the bare call adds the server's and the round trip's cost of the TTL itself.
 *
 * Usage: npm run bench:guard  (env: BENCH_ROUNDS, BENCH_SEQ, BENCH_PIPELINES; BENCH_LIBRARY=ioredis
 * or node-redis for one client only; BENCH_GUARD_DIST to measure another build of the guard, e.g.
 * one compiled from an older commit into /tmp/old-dist)
 */
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { startRedis } from '../test/support/redis.js';

// The guard as users run it: compiled by `npm run build` (the bench:guard script builds first),
// not transpiled on the fly by tsx, whose module wrappers would add their own cost to every call.
const distDir = process.env.BENCH_GUARD_DIST ?? new URL('../dist', import.meta.url).pathname;
const { guard } = (await import(new URL(`file://${distDir}/guard/index.js`).href)) as typeof import('../src/guard/index.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const SEQ = Number(process.env.BENCH_SEQ ?? 3000);
const PIPELINES = Number(process.env.BENCH_PIPELINES ?? 20);
const BATCH = 1000;
const POLICY = {
  rules: [
    { match: 'session:*', ttl: '24h' },
    { match: 'cache:*', ttl: '1h', jitter: '10%' },
  ],
};

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

/**
 * What the raw client must send to get the same result as the guard: SET … PX, and HSET +
 * PEXPIRE NX (in a MULTI when sent alone, in the pipeline otherwise). Guard vs these is the
 * guard's own cost; guard vs the bare command adds the server's work of keeping a TTL.
 */
function sameOnTheWire(library: 'ioredis' | 'node-redis'): Record<string, Workload> {
  const ms = (key: string) => (key.startsWith('cache') ? 3_600_000 : 86_400_000);
  const io = library === 'ioredis';
  return {
    'seq SET (no TTL)': {
      name: 'seq SET … PX (same command on the wire)',
      ops: SEQ,
      async run(c, r) {
        for (let i = 0; i < SEQ; i++) {
          const key = `cache:${r}:${i}`;
          if (io) await (c as Io).set(key, 'value', 'PX', ms(key));
          else await (c as Node).set(key, 'value', { PX: ms(key) });
        }
      },
    },
    'seq HSET': {
      name: 'seq MULTI HSET + PEXPIRE NX by hand',
      ops: SEQ,
      async run(c, r) {
        for (let i = 0; i < SEQ; i++) {
          const key = `session:${r}:${i}`;
          if (io) await (c as Io).multi().hset(key, 'user', 'ada').pexpire(key, ms(key), 'NX').exec();
          else await (c as Node).multi().hSet(key, 'user', 'ada').pExpire(key, ms(key), 'NX').exec();
        }
      },
    },
    'pipeline SET (no TTL)': {
      name: 'pipeline SET … PX (same commands on the wire)',
      ops: PIPELINES * BATCH,
      async run(c, r) {
        for (let b = 0; b < PIPELINES; b++) {
          if (io) {
            const p = (c as Io).pipeline();
            for (let i = 0; i < BATCH; i++) p.set(`cache:${r}:${b * BATCH + i}`, 'value', 'PX', 3_600_000);
            await p.exec();
          } else {
            const m = (c as Node).multi();
            for (let i = 0; i < BATCH; i++) m.set(`cache:${r}:${b * BATCH + i}`, 'value', { PX: 3_600_000 });
            await m.execAsPipeline();
          }
        }
      },
    },
    'pipeline HSET': {
      name: 'pipeline HSET + PEXPIRE NX by hand',
      ops: PIPELINES * BATCH,
      async run(c, r) {
        for (let b = 0; b < PIPELINES; b++) {
          if (io) {
            const p = (c as Io).pipeline();
            for (let i = 0; i < BATCH; i++) p.hset(`session:${r}:${b * BATCH + i}`, 'user', 'ada').pexpire(`session:${r}:${b * BATCH + i}`, 86_400_000, 'NX');
            await p.exec();
          } else {
            const m = (c as Node).multi();
            for (let i = 0; i < BATCH; i++) m.hSet(`session:${r}:${b * BATCH + i}`, 'user', 'ada').pExpire(`session:${r}:${b * BATCH + i}`, 86_400_000, 'NX');
            await m.execAsPipeline();
          }
        }
      },
    },
  };
}

/**
 * Best of the rounds: on a shared machine other processes only ever add time, so the fastest
 * round is the closest to the code's own cost (the same reasoning as Python's timeit).
 */
const best = (xs: number[]): number => Math.min(...xs);

/**
 * The guard's time over the reference's, round by round (the two ran back to back), as the
 * median and interquartile range over the rounds: load that comes and goes hits both sides
 * of a round alike, so this moves less between runs than a ratio of two best rounds.
 */
function pairedRatios(guard: number[], reference: number[]): { median: number; q1: number; q3: number } {
  const ratios = guard.map((g, i) => g / reference[i]).sort((a, b) => a - b);
  const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))];
  return { median: at(0.5), q1: at(0.25), q3: at(0.75) };
}

/** Wall time (ms) and this process's CPU time (ms, user + system) of one run. */
async function time(fn: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wall: Number(process.hrtime.bigint() - start) / 1e6, cpu: (used.user + used.system) / 1000 };
}

interface Row {
  library: string;
  workload: string;
  /** What the guard is compared with. */
  against: string;
  rawOps: number;
  guardOps: number;
  ratio: number;
  /** Per-round guard/reference time ratios: median and interquartile range. */
  paired: { median: number; q1: number; q3: number };
  /** The same for this process's CPU time: the guard's own cost, without the server's or the network's noise. */
  pairedCpu: { median: number; q1: number; q3: number };
  /** Client CPU per command, µs: the reference, then the guard. */
  rawCpuUs: number;
  guardCpuUs: number;
}

async function measure(library: 'ioredis' | 'node-redis', workloads: Workload[], raw: unknown, guarded: unknown): Promise<Row[]> {
  const rows: Row[] = [];
  const references = sameOnTheWire(library);
  for (const w of workloads) {
    const reference = references[w.name];
    const sides: Array<{ client: unknown; work: Workload; ms: number[]; cpu: number[] }> = [
      { client: raw, work: w, ms: [], cpu: [] },
      { client: guarded, work: w, ms: [], cpu: [] },
    ];
    if (reference) sides.push({ client: raw, work: reference, ms: [], cpu: [] });
    for (const side of sides) await side.work.run(side.client, -1); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate which side goes first, so drift (other load, memory growth) hits all alike.
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(r + k) % sides.length];
        const t = await time(() => side.work.run(side.client, r));
        side.ms.push(t.wall);
        side.cpu.push(t.cpu);
      }
    }
    const [rawMs, guardMs, refMs] = sides.map((side) => best(side.ms));
    const [rawCpu, guardCpu, refCpu] = sides.map((side) => (best(side.cpu) * 1000) / w.ops);
    const ops = (ms: number) => (w.ops / ms) * 1000;
    const [rawSide, guardSide, refSide] = sides;
    rows.push({
      library,
      workload: w.name,
      against: 'raw client, same call',
      rawOps: ops(rawMs),
      guardOps: ops(guardMs),
      ratio: guardMs / rawMs,
      paired: pairedRatios(guardSide.ms, rawSide.ms),
      pairedCpu: pairedRatios(guardSide.cpu, rawSide.cpu),
      rawCpuUs: rawCpu,
      guardCpuUs: guardCpu,
    });
    if (reference && refMs !== undefined) {
      rows.push({
        library,
        workload: w.name,
        against: `raw ${reference.name.replace(/^(seq|pipeline) /, '')}`,
        rawOps: ops(refMs),
        guardOps: ops(guardMs),
        ratio: guardMs / refMs,
        paired: pairedRatios(guardSide.ms, refSide.ms),
        pairedCpu: pairedRatios(guardSide.cpu, refSide.cpu),
        rawCpuUs: refCpu,
        guardCpuUs: guardCpu,
      });
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
    const load = () =>
      loadavg()
        .map((l) => l.toFixed(1))
        .join(' ');
    process.stderr.write(
      `bench:guard — redis ${version}, node ${process.version}, ${cpus().length} cores, load average ${load()}; ${ROUNDS} rounds, ${SEQ} sequential ops, ${PIPELINES}×${BATCH} pipelined ops per workload; guard from ${distDir}\n`,
    );
    const only = process.env.BENCH_LIBRARY;
    const rows = [
      ...(only === undefined || only === 'ioredis' ? await measure('ioredis', ioredisWorkloads(), io, ioGuarded) : []),
      ...(only === undefined || only === 'node-redis' ? await measure('node-redis', nodeRedisWorkloads(), node, nodeGuarded) : []),
    ];
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const lines = [
      '| client | workload | compared with | reference ops/s | guard ops/s | guard time / reference time (best rounds) | per round: median [IQR] | client CPU µs/op: reference → guard | client CPU per round: median [IQR] |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    for (const r of rows) {
      lines.push(
        `| ${r.library} | ${r.workload} | ${r.against} | ${fmt(r.rawOps)} | ${fmt(r.guardOps)} | ${r.ratio.toFixed(2)}× | ${r.paired.median.toFixed(2)}× [${r.paired.q1.toFixed(2)}–${r.paired.q3.toFixed(2)}] | ${r.rawCpuUs.toFixed(2)} → ${r.guardCpuUs.toFixed(2)} | ${r.pairedCpu.median.toFixed(2)}× [${r.pairedCpu.q1.toFixed(2)}–${r.pairedCpu.q3.toFixed(2)}] |`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    process.stderr.write(`load average at the end: ${load()}\n`);
  } finally {
    io.disconnect();
    ioGuarded.disconnect();
    await node.close();
    await nodeGuarded.close();
    await server.stop();
  }
}

await main();
