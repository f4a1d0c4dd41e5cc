/**
 * The latency guard shared by scan, fix and watch. Two loops keep production safe:
 *
 * 1. Call size: each server-side call lasts about `targetCallMs`, never more than
 *    `maxCallMs` (~5 ms), even when keys are expensive to inspect. Every call is sized in
 *    keys from the smoothed server time per key (`nextBatch`), and a script call also gets
 *    a time budget it checks against the server's clock (`nextCall`), so keys dearer than
 *    the last ones cannot stretch it. Redis runs one command at a time, so our longest
 *    call bounds how long another client waits on us.
 * 2. Pace: unless `fast`, a probe connection PINGs the node every few ms while we work; when
 *    the median of those round trips rises above `targetP99Ms` (a server busy for whatever
 *    reason), we pause between calls, and shrink the pauses again once it recovers.
 *    `maxOps` is a hard cap in keys per second.
 */
import type { Redis } from 'ioredis';

export interface PaceOptions {
  /** Lift the latency guard (maintenance windows): bigger calls, no pauses. */
  fast?: boolean;
  /** Hard cap on keys handled per second by this pacer. */
  maxOps?: number;
  /** Desired duration of one server-side call. Default 0.5 ms (what another client may wait behind us), 3 ms with `fast` (headroom under maxCallMs). */
  targetCallMs?: number;
  /**
   * Calls of ours in flight at once (the scanner's lanes). Each self-timed call gets
   * `targetCallMs / inFlight`, so a client still waits behind at most about `targetCallMs`
   * of our work. Default 1.
   */
  inFlight?: number;
  /** Never plan a call longer than this. Default 5 ms. */
  maxCallMs?: number;
  /** The concurrent-client p99 the guard aims for. Default 1 ms. */
  targetP99Ms?: number;
  /** First batch size. */
  initialBatch?: number;
}

const MIN_BATCH = 10;
const MAX_BATCH = 5000;

export class Pacer {
  readonly fast: boolean;
  private batch: number;
  /** What one call may take: `targetCallMs` (at most `maxCallMs`), shared by the calls in flight. */
  private readonly budgetMs: number;
  private readonly targetP99Ms: number;
  private readonly maxOps: number | undefined;
  private pauseMs = 0;
  private perUnitMs: number | undefined;
  private readonly startedAt = performance.now();
  private handled = 0;
  private probe: LatencyProbe | undefined;

  constructor(options: PaceOptions = {}) {
    this.fast = options.fast === true;
    const targetCallMs = options.targetCallMs ?? (this.fast ? 3 : 0.5);
    this.budgetMs = Math.min(targetCallMs, options.maxCallMs ?? 5) / Math.max(1, options.inFlight ?? 1);
    this.targetP99Ms = options.targetP99Ms ?? 1;
    this.maxOps = options.maxOps;
    this.batch = options.initialBatch ?? (this.fast ? 500 : 100);
  }

  /** Start measuring a concurrent client's latency through `probeClient` (a separate connection). */
  watch(probeClient: Redis): void {
    if (!this.fast) this.probe = new LatencyProbe(probeClient);
  }

  /** How many keys the next call should cover. */
  nextBatch(): number {
    return this.batch;
  }

  /**
   * The next self-timed call (inspect-keys.lua inspects the keys it is sent until its budget
   * is spent): its time budget; the keys of a first page that fills three quarters of it at
   * the cost per key so far (the script sizes the pages after it to what is left); and with
   * an ops cap the most keys it may cover.
   */
  nextCall(): { budgetMs: number; pageCount: number; maxKeys: number } {
    const pageCount = Math.round(Math.min(Math.max((this.budgetMs * 0.75) / (this.perUnitMs ?? 0.005), MIN_BATCH), MAX_BATCH));
    // With an ops cap, keep calls small enough that the cap paces smoothly (~20 calls/s).
    const maxKeys = this.maxOps ? Math.max(1, Math.ceil(this.maxOps / 20)) : 0;
    return { budgetMs: this.budgetMs, pageCount: maxKeys ? Math.min(pageCount, maxKeys) : pageCount, maxKeys };
  }

  /** Report a finished call: its duration (server-side when known) and how many keys it covered. */
  record(callMs: number, units: number, covered = this.batch): void {
    this.handled += units;
    if (covered > 0 && callMs > 0) {
      // Size the next call from a smoothed per-key cost (0.7 of what was known, 0.3 of the new
      // sample), so one slow call (a big key, the server descheduled for a moment) neither
      // halves throughput nor is ignored.
      const perUnit = callMs / covered;
      this.perUnitMs = this.perUnitMs === undefined ? perUnit : this.perUnitMs * 0.7 + perUnit * 0.3;
      const wanted = this.budgetMs / this.perUnitMs;
      this.batch = Math.round(Math.min(Math.max(wanted, MIN_BATCH), this.batch * 2, MAX_BATCH));
    }
    if (this.probe) {
      // Call sizing already bounds the wait we impose on others to about targetCallMs.
      // Pauses are the second line of defence, for a server that is slow for any reason:
      // they follow the probe's median, which a busy server moves but the scheduling noise
      // of a shared machine (which only touches the tail) does not.
      const median = this.probe.percentile(0.5);
      if (median > this.targetP99Ms) this.pauseMs = Math.min(Math.max(this.pauseMs * 2, 0.5), 20);
      else this.pauseMs = this.pauseMs < 0.25 ? 0 : this.pauseMs / 2;
    }
  }

  /** Wait as long as the guard and the ops cap require before the next call. */
  async wait(): Promise<void> {
    let delay = this.pauseMs;
    if (this.maxOps) {
      const due = this.startedAt + (this.handled / this.maxOps) * 1000;
      delay = Math.max(delay, due - performance.now());
    }
    if (delay >= 1) await new Promise((r) => setTimeout(r, delay));
    else if (delay > 0) await new Promise((r) => setImmediate(r));
  }

  /** The p99 the probe saw recently, or undefined without a probe. */
  observedP99(): number | undefined {
    return this.probe?.percentile(0.99);
  }

  stop(): void {
    this.probe?.stop();
  }
}

/** PINGs through its own connection every few ms and keeps the last 100 round trips. */
class LatencyProbe {
  private readonly samples: number[] = [];
  private sorted: number[] | undefined;
  private readonly timer = setInterval(() => this.tick(), 5).unref();
  private inFlight = false;

  constructor(private readonly client: Redis) {}

  private tick(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    const t0 = performance.now();
    this.client
      .ping()
      .then(() => {
        this.samples.push(performance.now() - t0);
        if (this.samples.length > 100) this.samples.shift();
        this.sorted = undefined;
      })
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = false;
      });
  }

  percentile(q: number): number {
    if (this.samples.length < 20) return 0;
    // Asked after every call (thousands a second), while a sample arrives every 5 ms.
    this.sorted ??= [...this.samples].sort((a, b) => a - b);
    return this.sorted[Math.floor(this.sorted.length * q)];
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
