/**
 * The concurrent client of the benchmarks: a separate Node process (so the tool under test
 * cannot stall its event loop) doing sequential awaited GETs on its own connection, about one
 * per millisecond, and reporting per-request latency between `begin` and `end`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const PROBE_SOURCE = `
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
const { Redis } = createRequire(process.cwd() + '/')('ioredis');
const client = new Redis({ host: '127.0.0.1', port: Number(process.env.PROBE_PORT), enableAutoPipelining: false });
const key = process.env.PROBE_KEY;
const samples = new Float64Array(2_000_000);
let n = 0, active = false, stopped = false;
const pct = (s, q) => s.length ? s[Math.min(s.length - 1, Math.floor(s.length * q))] : 0;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'begin') { n = 0; active = true; process.stdout.write('ok\\n'); }
  else if (line === 'end') {
    active = false;
    const s = samples.slice(0, n).sort();
    process.stdout.write(JSON.stringify({ n, p50: pct(s, 0.5), p99: pct(s, 0.99), p999: pct(s, 0.999), max: n ? s[n - 1] : 0 }) + '\\n');
  } else if (line === 'quit') stopped = true;
}).on('close', () => { stopped = true; });
const started = Date.now();
await client.get(key);
process.stdout.write('ready\\n');
while (!stopped && Date.now() - started < 900_000) {
  const t0 = performance.now();
  // A server restarting between rounds is not a latency sample: wait and go on.
  try { await client.get(key); } catch { await new Promise((r) => setTimeout(r, 10)); continue; }
  const dt = performance.now() - t0;
  if (active && n < samples.length) samples[n++] = dt;
  await new Promise((r) => setTimeout(r, 1));
}
client.disconnect();
`;

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export class LatencyClient {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly child: ReturnType<typeof spawn>) {
    this.lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  static async start(port: number, key: string): Promise<LatencyClient> {
    const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE_SOURCE], {
      cwd: ROOT,
      env: { ...process.env, PROBE_PORT: String(port), PROBE_KEY: key },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const probe = new LatencyClient(child);
    if ((await probe.next()) !== 'ready') throw new Error('latency client did not start');
    return probe;
  }

  private async next(): Promise<string> {
    const timeout = sleep(15_000).then(() => ({ done: true, value: '' }));
    const r = await Promise.race([this.lines.next(), timeout]);
    if (r.done) throw new Error('latency client stopped answering');
    return r.value as string;
  }

  async begin(): Promise<void> {
    this.child.stdin!.write('begin\n');
    await this.next();
  }

  async end(): Promise<Latency> {
    this.child.stdin!.write('end\n');
    return JSON.parse(await this.next()) as Latency;
  }

  async measure(ms: number): Promise<Latency> {
    await this.begin();
    await sleep(ms);
    return this.end();
  }

  stop(): void {
    this.child.stdin!.end('quit\n');
  }
}
