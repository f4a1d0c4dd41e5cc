/**
 * watch-soak: `keywarden watch` for a long time against a keyspace that keeps changing, to
 * see that its memory stays flat and its passes and scrapes keep their pace.
 *
 * 1. A throwaway redis-server with the demo's incident dataset (SOAK_KEYS, default 200,000).
 * 2. Churn from this process, ~4,000 writes/s: new sessions without TTL, caches with short
 *    TTLs that expire on their own, deletions, and keys of a new pattern every minute (so the
 *    pattern table keeps meeting names it has not seen).
 * 3. `node bin/keywarden.js watch` as a child process (the CLI a user runs), a pass every
 *    SOAK_INTERVAL (default 10s), state file and checkpoints on.
 * 4. Every 30 s: /metrics scraped (time taken, passes, heap, RSS from the process's own
 *    metrics), printed as one line; at the end a summary of the first and last samples.
 *
 * Usage: npm run build && node --import tsx bench/watch-soak.ts   (env: SOAK_MINUTES=60, SOAK_KEYS, SOAK_INTERVAL)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { loadIncidentDataset } from '../src/demo/dataset.js';
import { freePort, startThrowawayRedis } from '../src/demo/server.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 60);
const KEYS = Number(process.env.SOAK_KEYS ?? 200_000);
const INTERVAL = process.env.SOAK_INTERVAL ?? '10s';
const SAMPLE_MS = 30_000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const log = (msg: string) => process.stdout.write(`${msg}\n`);

interface Sample {
  minute: number;
  scrapeMs: number;
  passes: number;
  heapMb: number;
  rssMb: number;
  patterns: number;
  dbsize: number;
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

async function main(): Promise<void> {
  const redis = await startThrowawayRedis();
  const dir = mkdtempSync(join(tmpdir(), 'keywarden-soak-'));
  const client = new Redis(redis.port, '127.0.0.1');
  await loadIncidentDataset(client, { keys: KEYS, leaderboardMembers: 10_000 });
  const port = await freePort();
  const watch = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/keywarden.js'),
      'watch',
      redis.url,
      '--listen',
      `127.0.0.1:${port}`,
      '--interval',
      INTERVAL,
      '--state',
      join(dir, 'state.json'),
      '--log-format',
      'json',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let errors = 0;
  watch.stderr!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (/"level":"(error|warn)"/.test(line) && !/alert firing|alert resolved/.test(line)) errors++;
  });

  // Churn: a new pattern every minute, sessions that leak, caches that expire, deletions.
  let stopChurn = false;
  let written = 0;
  const churn = (async () => {
    let n = 0;
    while (!stopChurn) {
      const p = client.pipeline();
      const generation = Math.floor(n / 60_000);
      for (let i = 0; i < 100; i++, n++) {
        p.set(`session:${20_000_000 + n}`, 'x'.repeat(200));
        p.set(`cache:soak:${n % 50_000}`, 'v', 'EX', 30 + (n % 90));
        p.set(`gen${generation}:item:${n}`, 'v', 'EX', 300);
        p.del(`session:${20_000_000 + n - 5_000}`);
      }
      await p.exec();
      written += 400;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const samples: Sample[] = [];
  const started = Date.now();
  log(`watch-soak: ${MINUTES} min, ${KEYS.toLocaleString('en-US')} keys, --interval ${INTERVAL}, watch pid ${watch.pid}`);
  log('| minute | scrape ms | passes | heap MB | RSS MB | patterns | DBSIZE | warnings+errors |');
  log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  await new Promise((r) => setTimeout(r, 5000));
  while (Date.now() - started < MINUTES * 60_000) {
    const t0 = performance.now();
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    const scrapeMs = performance.now() - t0;
    const s: Sample = {
      minute: (Date.now() - started) / 60_000,
      scrapeMs,
      passes: metric(text, 'keywarden_scan_passes_total'),
      heapMb: metric(text, 'nodejs_heap_size_used_bytes') / 1e6,
      rssMb: metric(text, 'process_resident_memory_bytes') / 1e6,
      patterns: text.split('\n').filter((l) => l.startsWith('keywarden_pattern_keys{')).length,
      dbsize: await client.dbsize(),
    };
    samples.push(s);
    log(
      `| ${s.minute.toFixed(1)} | ${s.scrapeMs.toFixed(1)} | ${s.passes} | ${s.heapMb.toFixed(1)} | ${s.rssMb.toFixed(1)} | ${s.patterns} | ${s.dbsize.toLocaleString('en-US')} | ${errors} |`,
    );
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
  }

  stopChurn = true;
  await churn;
  watch.kill('SIGTERM');
  await new Promise((r) => watch.once('exit', r));
  client.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });

  // Memory after warm-up (from the third sample on) against the end: a leak grows steadily.
  const warm = samples.slice(2);
  const first = warm[0];
  const last = warm[warm.length - 1];
  const maxScrape = Math.max(...samples.map((s) => s.scrapeMs));
  const heapMax = Math.max(...warm.map((s) => s.heapMb));
  log('');
  log(`churn: ${written.toLocaleString('en-US')} writes; passes: ${last.passes}; warnings/errors logged: ${errors}`);
  log(
    `heap ${first.heapMb.toFixed(1)} MB at ${first.minute.toFixed(1)} min -> ${last.heapMb.toFixed(1)} MB at ${last.minute.toFixed(1)} min (max ${heapMax.toFixed(1)}); RSS ${first.rssMb.toFixed(1)} -> ${last.rssMb.toFixed(1)} MB; slowest scrape ${maxScrape.toFixed(1)} ms`,
  );
}

await main();
