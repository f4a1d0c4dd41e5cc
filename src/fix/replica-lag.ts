/**
 * The replica-lag brake, like gh-ost's and pt-online-schema-change's: before each batch of
 * writes, a primary's replicas are checked (INFO replication, at most every POLL_MS), and
 * while any replica is more than `maxLagMs` behind, writes to that primary wait.
 *
 * `lag=` in INFO is the seconds since the replica last acknowledged (replicas ack every
 * second), so it grows while a replica is stalled; a replica whose acknowledged offset
 * equals the primary's has nothing to catch up on and never counts as lagging.
 */
import type { Redis } from 'ioredis';
import { parseInfo } from '../target/info.js';

export interface ReplicaLag {
  /** `ip:port` of the replica. */
  replica: string;
  lagMs: number;
  /** Replication bytes the replica has not acknowledged. */
  behindBytes: number;
}

/** The replicas of a primary from its `INFO replication`, with how far each is behind. */
export function parseReplicaLag(infoText: string): ReplicaLag[] {
  const info = parseInfo(infoText);
  const primaryOffset = Number(info.master_repl_offset ?? 0);
  const out: ReplicaLag[] = [];
  for (const [field, value] of Object.entries(info)) {
    if (!/^slave\d+$/.test(field)) continue;
    const f = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    const behindBytes = Math.max(0, primaryOffset - Number(f.offset ?? 0));
    const lagMs = f.state !== 'online' ? Infinity : behindBytes === 0 ? 0 : Number(f.lag ?? 0) * 1000;
    out.push({ replica: `${f.ip}:${f.port}`, lagMs, behindBytes });
  }
  return out;
}

export interface LagEvent extends Pick<ReplicaLag, 'replica' | 'lagMs'> {
  node: string;
}

/** How often INFO replication is read while writing. */
const POLL_MS = 250;

export interface ReplicaLagOptions {
  maxLagMs: number;
  signal?: AbortSignal;
  onPause?(event: LagEvent): void;
  onResume?(event: LagEvent & { pausedMs: number }): void;
}

/** One per primary. `wait()` before each batch of writes. */
export class ReplicaLagBrake {
  private checkedAt = -Infinity;
  pausedMs = 0;

  constructor(
    private readonly node: string,
    private readonly client: Redis,
    private readonly options: ReplicaLagOptions,
  ) {}

  async wait(): Promise<void> {
    if (performance.now() - this.checkedAt < POLL_MS) return;
    let worst = await this.worst();
    if (!worst) return;
    const started = performance.now();
    this.options.onPause?.({ node: this.node, ...worst });
    while (worst && !this.options.signal?.aborted) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      worst = await this.worst();
    }
    const pausedMs = performance.now() - started;
    this.pausedMs += pausedMs;
    this.options.onResume?.({ node: this.node, replica: '', lagMs: 0, pausedMs });
  }

  /** The most lagging replica above the limit, if any. */
  private async worst(): Promise<Omit<LagEvent, 'node'> | undefined> {
    this.checkedAt = performance.now();
    let replicas: ReplicaLag[];
    try {
      replicas = parseReplicaLag(await this.client.info('replication'));
    } catch {
      // No INFO permission: the brake cannot see replicas; the latency guard still applies.
      return undefined;
    }
    const lagging = replicas.filter((r) => r.lagMs > this.options.maxLagMs).sort((a, b) => b.lagMs - a.lagMs);
    return lagging[0] ? { replica: lagging[0].replica, lagMs: lagging[0].lagMs } : undefined;
  }
}
