/**
 * bench:fix — `keywarden fix --apply` against the unchecked one-liner people reach for
 * (`redis-cli --scan | awk '… EXPIRE … NX' | redis-cli --pipe`), on the same 1M-key dataset,
 * in the same run, with a concurrent client measuring the latency each of them inflicts.
 *
 * 1. A throwaway redis-server on a free 127.0.0.1 port (test/support/redis.ts), filled through
 *    `redis-cli --pipe`: BENCH_KEYS `session:<i>` strings without TTL, plus 5% `cache:<i>`
 *    with a TTL (left alone by both).
 * 2. Runs, interleaved for BENCH_ROUNDS rounds, each on a freshly loaded dataset:
 *    - reference: `redis-cli --scan --pattern 'session:*' | awk … | redis-cli --pipe`
 *      (redis-cli's default SCAN COUNT, as typed in an incident), no pacing, no journal;
 *    - keywarden: `keywarden fix --match 'session:*' --ttl 24h --apply --journal …` with
 *      default safety (latency guard, replica-lag brake, journal), as a separate process;
 *    - keywarden, V8 threads: the same without the single-threaded restart
 *      (bench/keywarden-v8-threads.mjs, src/cli/relaunch.ts), the ablation.
 *    During each, a separate Node process does sequential GETs (one every ~1 ms) on its own
 *    connection and reports p50/p99. keys/s = keys given a TTL / wall time of the command.
 *    Each round also prints the server's CPU time (INFO cpu) per key and as a share of the
 *    wall time: how much work each tool asks of the server, and how busy it keeps it.
 * 3. Both must leave every `session:*` key with a TTL and every `cache:*` TTL unchanged.
 *
 * Usage: npm run bench:fix   (env: BENCH_KEYS, BENCH_ROUNDS; BENCH_BASELINE=path/to/bin/keywarden.js
 * of another build adds its `fix` to every round as "baseline": before/after in the same rounds)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, REDIS_CLI } from '../test/support/redis.js';
import { LatencyClient, type Latency } from './latency-client.js';

const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BASELINE = process.env.BENCH_BASELINE;
const TOOLS = ['reference', 'keywarden', 'keywarden, V8 threads', ...(BASELINE ? (['baseline'] as const) : [])] as const;

function load(port: number): void {
  const lines: string[] = [];
  for (let i = 0; i < KEYS; i++) lines.push(`SET session:${i} v${i}`);
  for (let i = 0; i < KEYS / 20; i++) lines.push(`SET cache:${i} c EX 86400`);
  const r = spawnSync(REDIS_CLI, ['-p', String(port), '--pipe'], { input: lines.join('\r\n') + '\r\n', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`load failed: ${r.stderr}`);
}

function cli(port: number, ...args: string[]): string {
  return spawnSync(REDIS_CLI, ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
}

/** CPU seconds the server has used (user + sys), from INFO cpu. */
function serverCpu(port: number): number {
  const info = cli(port, 'INFO', 'cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
}

async function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ wallS: number; stdout: string }> {
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}`);
  return { wallS: (performance.now() - t0) / 1000, stdout };
}

function keywardenArgv(): string[] {
  // The compiled CLI when `npm run build` produced it (bench:fix builds first), else from source.
  return existsSync(join(ROOT, 'dist/cli/main.js')) ? [process.execPath, 'bin/keywarden.js'] : [process.execPath, '--import', 'tsx', 'test/fix/run-cli.ts'];
}

async function main(): Promise<void> {
  const server = await startRedis({ config: { 'maxmemory-policy': 'noeviction' } });
  cli(server.port, 'SET', 'probe', 'x');
  const probe = await LatencyClient.start(server.port, 'probe');
  const dir = mkdtempSync(join(tmpdir(), 'keywarden-bench-fix-'));
  const results: Array<{ tool: string; round: number; keys: number; wallS: number; keysPerS: number; latency: Latency; load1: number }> = [];
  // Every session:* key must have a TTL now, and the cache:* keys kept theirs: INFO keyspace
  // counts keys with a TTL exactly, without another pass over the keyspace.
  const verify = (tool: string) => {
    const expires = Number(/expires=(\d+)/.exec(cli(server.port, 'INFO', 'keyspace'))?.[1] ?? 0);
    if (expires !== KEYS + KEYS / 20) throw new Error(`${tool} left ${KEYS + KEYS / 20 - expires} session keys without TTL`);
  };
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const tool of TOOLS) {
        cli(server.port, 'FLUSHALL');
        load(server.port);
        cli(server.port, 'SET', 'probe', 'x');
        const load1 = loadavg()[0];
        const cpu0 = serverCpu(server.port);
        await probe.begin();
        const fixArgs = [
          'fix',
          server.url,
          '--match',
          'session:*',
          '--ttl',
          '24h',
          '--apply',
          '--journal',
          join(dir, `r${round}-${tool.replace(/\W+/g, '-')}.jsonl`),
          '--json',
        ];
        const run =
          tool === 'reference'
            ? await timed([
                'bash',
                '-c',
                `${REDIS_CLI} -p ${server.port} --scan --pattern 'session:*' | awk '{print "EXPIRE", $0, 86400, "NX"}' | ${REDIS_CLI} -p ${server.port} --pipe`,
              ])
            : tool === 'keywarden'
              ? await timed([...keywardenArgv(), ...fixArgs])
              : tool === 'baseline'
                ? await timed([process.execPath, BASELINE!, ...fixArgs])
                : await timed([process.execPath, 'bench/keywarden-v8-threads.mjs', ...fixArgs]);
        const latency = await probe.end();
        const cpuS = serverCpu(server.port) - cpu0;
        verify(tool);
        const keys = tool === 'reference' ? KEYS : (JSON.parse(run.stdout) as { totals: { applied: number } }).totals.applied;
        if (keys !== KEYS) throw new Error(`${tool} set ${keys} TTLs, expected ${KEYS}`);
        results.push({ tool, round, keys, wallS: run.wallS, keysPerS: keys / run.wallS, latency, load1 });
        console.error(
          `${tool.padEnd(21)} round ${round}: ${Math.round(keys / run.wallS).toLocaleString('en-US')} keys/s in ${run.wallS.toFixed(2)} s, concurrent p50 ${latency.p50.toFixed(2)} ms p99 ${latency.p99.toFixed(2)} ms (load ${load1.toFixed(1)}); server CPU ${((cpuS / keys) * 1e6).toFixed(2)} µs/key, busy ${((cpuS / run.wallS) * 100).toFixed(0)}% of the wall time`,
        );
      }
    }
  } finally {
    probe.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const best = (tool: string) => results.filter((r) => r.tool === tool).sort((a, b) => b.keysPerS - a.keysPerS)[0];
  const ref = best('reference');
  const kw = best('keywarden');
  const threads = best('keywarden, V8 threads');
  const baseline = BASELINE ? [best('baseline')] : [];
  console.log(
    `\nfix bench: ${KEYS.toLocaleString('en-US')} keys without TTL (+${(KEYS / 20).toLocaleString('en-US')} with), ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), best of ${ROUNDS} round(s)`,
  );
  console.log('| tool | keys/s | wall s | concurrent p50 ms | concurrent p99 ms | load1 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of [ref, kw, threads, ...baseline])
    console.log(
      `| ${r.tool} | ${Math.round(r.keysPerS).toLocaleString('en-US')} | ${r.wallS.toFixed(2)} | ${r.latency.p50.toFixed(2)} | ${r.latency.p99.toFixed(2)} | ${r.load1.toFixed(1)} |`,
    );
  console.log(`ratio keywarden / reference (best rounds): ${(kw.keysPerS / ref.keysPerS).toFixed(2)}x`);
  /** A tool's keys/s over the reference's, round by round (same dataset, back to back). */
  const perRound = (tool: string) =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const pick = (t: string) => results.find((r) => r.tool === t && r.round === i + 1)?.keysPerS ?? NaN;
      return `${(pick(tool) / pick('reference')).toFixed(2)}x`;
    }).join(', ');
  console.log(`ratio per round (same dataset, back to back): ${perRound('keywarden')}`);
  if (BASELINE)
    console.log(`baseline (${BASELINE}) / reference per round: ${perRound('baseline')}; best rounds ${(baseline[0].keysPerS / ref.keysPerS).toFixed(2)}x`);
  const p99 = (tool: string) =>
    results
      .filter((r) => r.tool === tool)
      .map((r) => r.latency.p99.toFixed(2))
      .join(', ');
  console.log(
    `concurrent p99 per round, ms: reference ${p99('reference')}; keywarden ${p99('keywarden')}; keywarden, V8 threads ${p99('keywarden, V8 threads')}${BASELINE ? `; baseline ${p99('baseline')}` : ''}`,
  );
}

await main();
