/**
 * bench:rdb — `keywarden rdb` on a >= 1M-key dump written by a real redis-server, against
 * `redis-check-rdb` (Redis' own C loader) on the same file and against a live `keywarden scan`
 * of the same keyspace, in one run; the memory model against MEMORY USAGE on the same keys.
 *
 * 1. A throwaway redis-server; the incident dataset of src/demo/dataset.ts (the demo's mix:
 *    strings with and without TTL, hashes, lists, a big zset). Its 60 s rate-limit keys are
 *    left to expire (BENCH_SETTLE=0 skips the wait), so that the ground truth, read minutes
 *    later, sees the same keyspace as the dump; then SAVE.
 * 2. BENCH_ROUNDS rounds, interleaved: redis-check-rdb FILE; keywarden rdb FILE --json;
 *    keywarden rdb FILE FILE2 --json (two copies: two shards in two threads); keywarden scan
 *    --json --fast and keywarden scan --json (default, paced). Wall time and peak RSS of each
 *    command from /usr/bin/time. The best round of each is reported, and the ratios.
 * 3. Ground truth: DEBUG RELOAD (the server loads the very dump), then MEMORY USAGE key
 *    SAMPLES 0 over every key, summed per pattern of keywarden rdb's report.
 *
 * Usage: npm run bench:rdb   (env: BENCH_KEYS, BENCH_ROUNDS; BENCH_BASELINE=path/to/bin/keywarden.js
 * of another build, e.g. main's, adds its `rdb FILE` to every round: before/after in one sitting)
 * Writes bench/results/rdb-latest.json.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { loadIncidentDataset } from '../src/demo/dataset.js';
import { startThrowawayRedis } from '../src/demo/server.js';
import type { ScanReport } from '../src/keyspace/report.js';
import { compileGlob } from '../src/policy/index.js';

/** Written; the 5% of 60 s keys expire before SAVE, which leaves over 1M in the dump. */
const KEYS = Number(process.env.BENCH_KEYS ?? 1_060_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SETTLE = process.env.BENCH_SETTLE !== '0';
/** The dataset's shortest TTL (ratelimit:api:*:min, EX 60), and a margin. */
const SHORTEST_TTL_MS = 62_000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHECK_RDB = process.env.KEYWARDEN_REDIS_CHECK_RDB ?? 'redis-check-rdb';
const BASELINE = process.env.BENCH_BASELINE;
const log = (msg: string) => process.stderr.write(`bench:rdb ${msg}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Timed {
  seconds: number;
  /** User + system CPU seconds: steadier than wall time on a shared machine. */
  cpuSeconds: number;
  rssMB: number;
  stdout: string;
}

/** Run a command under /usr/bin/time: wall seconds, CPU seconds and peak RSS. */
function timed(argv: string[]): Timed {
  const out = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', ...argv], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30, timeout: 600_000 });
  const last = (out.stderr ?? '').trim().split('\n').pop() ?? '';
  const [seconds, kb, user, sys] = last.split(' ').map(Number);
  if (out.status !== 0 && out.status !== 1) throw new Error(`${argv.join(' ')} exited ${out.status}: ${out.stderr.slice(-500)}`);
  return { seconds, cpuSeconds: user + sys, rssMB: kb / 1024, stdout: out.stdout };
}

async function groundTruth(client: Redis, report: ScanReport): Promise<Array<{ pattern: string; real: number; model: number }>> {
  const matchers = report.patterns.map((p) => ({ p, match: compileGlob(p.pattern), real: 0 }));
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const pipe = client.pipeline();
    for (const k of keys) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    const replies = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const m = matchers.find((x) => x.match(k));
      if (m) m.real += Number(replies[i][1] ?? 0);
    });
  } while (cursor !== '0');
  return matchers.map((m) => ({ pattern: m.p.pattern, real: m.real, model: m.p.bytes }));
}

async function main(): Promise<void> {
  log(`${KEYS.toLocaleString('en-US')} keys, ${ROUNDS} rounds; ${cpus().length} cores (${cpus()[0]?.model}); load ${load()}`);
  const server = await startThrowawayRedis({ 'enable-debug-command': 'local' });
  const client = new Redis(server.port, '127.0.0.1');
  const work = mkdtempSync(join(tmpdir(), 'keywarden-bench-rdb-'));
  try {
    const loadStart = performance.now();
    await loadIncidentDataset(client, { keys: KEYS, leaderboardMembers: 100_000 });
    log(`loaded ${(await client.dbsize()).toLocaleString('en-US')} keys in ${((performance.now() - loadStart) / 1000).toFixed(0)} s`);
    const loaded = performance.now();
    if (SETTLE) {
      // From the end of the load: the last 60 s keys were written near its end.
      const wait = SHORTEST_TTL_MS - (performance.now() - loaded);
      if (wait > 0) {
        log(`waiting ${Math.ceil(wait / 1000)} s for the 60 s keys to expire`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    const saveStart = performance.now();
    await client.save();
    const saveSeconds = (performance.now() - saveStart) / 1000;
    const dir = ((await client.config('GET', 'dir')) as string[])[1];
    const dump = join(work, 'dump.rdb');
    const dump2 = join(work, 'dump2.rdb');
    copyFileSync(join(dir, 'dump.rdb'), dump);
    copyFileSync(dump, dump2);
    const mb = statSync(dump).size / 1e6;
    log(`dump ${mb.toFixed(1)} MB (SAVE took ${saveSeconds.toFixed(2)} s)`);

    const kw = (...args: string[]) => [process.execPath, 'bin/keywarden.js', ...args];
    const runs: Record<string, Timed[]> = { checkRdb: [], rdb: [], ...(BASELINE ? { rdbBaseline: [] } : {}), rdbTwo: [], scanFast: [], scan: [] };
    const loads: string[] = [load()];
    for (let round = 0; round < ROUNDS; round++) {
      runs.checkRdb.push(timed([CHECK_RDB, dump]));
      runs.rdb.push(timed(kw('rdb', dump, '--json', '--no-progress')));
      if (BASELINE) runs.rdbBaseline.push(timed([process.execPath, BASELINE, 'rdb', dump, '--json', '--no-progress']));
      runs.rdbTwo.push(timed(kw('rdb', dump, dump2, '--json', '--no-progress')));
      runs.scanFast.push(timed(kw('scan', server.url, '--json', '--fast', '--no-progress')));
      runs.scan.push(timed(kw('scan', server.url, '--json', '--no-progress')));
      loads.push(load());
      log(
        `round ${round + 1}: ${Object.entries(runs)
          .map(([k, v]) => `${k} ${v[round].seconds.toFixed(2)} s`)
          .join(', ')}; load ${load()}`,
      );
    }
    const best = (name: string) => runs[name].reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const bestCpu = (name: string) => Math.min(...runs[name].map((t) => t.cpuSeconds));
    const report = JSON.parse(best('rdb').stdout) as ScanReport;

    await client.call('DEBUG', 'RELOAD');
    // After the reload, not after SAVE: by then the server may not have reclaimed every 60 s key
    // yet (DBSIZE counts them until it does), and the dump holds none of them.
    const dbsize = await client.dbsize();
    if (report.totals.keys + (report.coverage.expired?.keys ?? 0) !== dbsize) log(`WARNING: rdb saw ${report.totals.keys} keys, DBSIZE ${dbsize}`);
    const truth = await groundTruth(client, report);
    const real = truth.reduce((s, t) => s + t.real, 0);
    const model = truth.reduce((s, t) => s + t.model, 0);

    const result = {
      when: new Date().toISOString(),
      keys: dbsize,
      dumpMB: mb,
      cores: cpus().length,
      cpu: cpus()[0]?.model,
      loadAverage: loads,
      saveSeconds,
      best: Object.fromEntries(Object.keys(runs).map((k) => [k, { seconds: best(k).seconds, cpuSeconds: bestCpu(k), rssMB: Math.round(best(k).rssMB) }])),
      all: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((t) => t.seconds)])),
      ratios: {
        rdbOverCheckRdb: best('rdb').seconds / best('checkRdb').seconds,
        rdbOverCheckRdbCpu: bestCpu('rdb') / bestCpu('checkRdb'),
        scanFastOverRdb: best('scanFast').seconds / best('rdb').seconds,
        scanOverRdb: best('scan').seconds / best('rdb').seconds,
        twoFilesSpeedup: (2 * best('rdb').seconds) / best('rdbTwo').seconds,
        ...(BASELINE
          ? { baselineOverRdb: best('rdbBaseline').seconds / best('rdb').seconds, baselineOverCheckRdb: best('rdbBaseline').seconds / best('checkRdb').seconds }
          : {}),
      },
      memoryModel: { real, model, error: (model - real) / real, patterns: truth.map((t) => ({ ...t, error: (t.model - t.real) / t.real })) },
    };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results/rdb-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    const row = (name: string, label: string) =>
      `| ${label} | ${best(name).seconds.toFixed(2)} | ${bestCpu(name).toFixed(2)} | ${Math.round(best(name).rssMB)} | ${runs[name].map((t) => t.seconds.toFixed(2)).join(' / ')} |`;
    process.stdout.write(
      [
        `${dbsize.toLocaleString('en-US')} keys, dump ${mb.toFixed(1)} MB; load average ${loads.join(' → ')}`,
        '',
        '| command | best s | best CPU s | peak RSS MB | all rounds s |',
        '| --- | ---: | ---: | ---: | --- |',
        row('checkRdb', 'redis-check-rdb dump.rdb'),
        row('rdb', 'keywarden rdb dump.rdb'),
        ...(BASELINE ? [row('rdbBaseline', `baseline ${BASELINE} rdb dump.rdb`)] : []),
        row('rdbTwo', 'keywarden rdb dump.rdb dump2.rdb (2 threads)'),
        row('scanFast', 'keywarden scan --fast (live)'),
        row('scan', 'keywarden scan (live, paced)'),
        '',
        `keywarden rdb / redis-check-rdb: ${result.ratios.rdbOverCheckRdb.toFixed(2)}× (CPU time: ${result.ratios.rdbOverCheckRdbCpu.toFixed(2)}×)`,
        ...(BASELINE
          ? [
              `baseline rdb / redis-check-rdb: ${result.ratios.baselineOverCheckRdb?.toFixed(2)}×; baseline / keywarden rdb: ${result.ratios.baselineOverRdb?.toFixed(2)}×`,
            ]
          : []),
        `live scan --fast / keywarden rdb: ${result.ratios.scanFastOverRdb.toFixed(2)}×; live scan (paced) / keywarden rdb: ${result.ratios.scanOverRdb.toFixed(2)}×`,
        `two files in two threads: ${result.ratios.twoFilesSpeedup.toFixed(2)}× the throughput of one`,
        `memory model vs MEMORY USAGE SAMPLES 0 over every key: total ${(result.memoryModel.error * 100).toFixed(3)}%`,
        ...result.memoryModel.patterns.map((p) => `  ${p.pattern.padEnd(28)} real ${p.real}  model ${p.model}  ${(p.error * 100).toFixed(2)}%`),
        '',
      ].join('\n'),
    );
  } finally {
    client.disconnect();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
