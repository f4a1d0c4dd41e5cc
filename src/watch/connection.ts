/**
 * Keeps the daemon connected. Connections are opened fail-fast (no silent ioredis retries);
 * when one drops — server restart, failover, network — the whole target is closed and
 * resolved again with backoff, so a cluster failover picks up the new masters. Every loss and
 * reconnection is logged and counted (`keywarden_up`, `keywarden_reconnects_total`).
 */
import { connectTarget, type Target } from '../target/connect.js';
import type { TargetSpec } from '../target/spec.js';
import type { WatchLogger } from './log.js';
import type { LiveState } from './state.js';

export interface Backoff {
  minMs: number;
  maxMs: number;
}

export class TargetConnection {
  private current: Target | undefined;
  private pending: Promise<Target> | undefined;
  private everConnected = false;

  constructor(
    private readonly spec: TargetSpec,
    private readonly live: LiveState,
    private readonly log: WatchLogger,
    private readonly signal: AbortSignal,
    private readonly backoff: Backoff = { minMs: 1000, maxMs: 30_000 },
  ) {}

  /** The connected target, if any (never waits). */
  get target(): Target | undefined {
    return this.current;
  }

  /** First connection: throws the ConnectionError as is, so a wrong URL fails at start. */
  async connectOnce(): Promise<Target> {
    return this.adopt(await connectTarget(this.spec));
  }

  /** The connected target, reconnecting with backoff when needed. Rejects only when stopped. */
  get(): Promise<Target> {
    if (this.current) return Promise.resolve(this.current);
    this.pending ??= this.reconnect().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Report that `target` failed; the next `get()` reconnects. Idempotent per target. */
  lost(target: Target, err: unknown): void {
    if (this.current !== target) return;
    this.current = undefined;
    this.live.connected = false;
    this.live.lastError = errorLine(err);
    for (const node of this.live.knownNodes) this.live.nodeUp.set(node, false);
    this.log.warn('lost the connection to the target; reconnecting', { target: this.spec.display, error: this.live.lastError });
    void target.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const t = this.current;
    this.current = undefined;
    this.live.connected = false;
    await t?.close().catch(() => undefined);
  }

  private async reconnect(): Promise<Target> {
    let delay = this.backoff.minMs;
    let lastLogged = '';
    for (;;) {
      this.signal.throwIfAborted();
      try {
        return this.adopt(await connectTarget(this.spec));
      } catch (err) {
        this.live.lastError = errorLine(err);
        if (this.live.lastError !== lastLogged) {
          this.log.warn('cannot reconnect yet; retrying', { target: this.spec.display, error: this.live.lastError, retryInMs: delay });
          lastLogged = this.live.lastError;
        }
        await sleep(delay, this.signal);
        delay = Math.min(delay * 2, this.backoff.maxMs);
      }
    }
  }

  private adopt(target: Target): Target {
    if (this.signal.aborted) {
      void target.close();
      this.signal.throwIfAborted();
    }
    this.current = target;
    this.live.connected = true;
    this.live.lastError = undefined;
    this.live.mode = target.mode;
    this.live.redisVersion = target.redisVersion;
    this.live.knownNodes = target.nodes.map((n) => n.address);
    this.live.nodeUp.clear();
    for (const n of target.nodes) {
      this.live.nodeUp.set(n.address, true);
      // Notice a dead server at once, not at the next INFO poll.
      n.client.once('end', () => this.lost(target, new Error(`connection to ${n.address} closed`)));
    }
    for (const address of [...this.live.stats.keys()]) if (!this.live.knownNodes.includes(address)) this.live.stats.delete(address);
    if (this.everConnected) {
      this.live.reconnects++;
      this.log.info('reconnected to the target', { target: this.spec.display, mode: target.mode, nodes: this.live.knownNodes.join(',') });
    } else {
      this.log.info('connected to the target', {
        target: this.spec.display,
        mode: target.mode,
        redisVersion: target.redisVersion,
        nodes: this.live.knownNodes.join(','),
      });
    }
    this.everConnected = true;
    return target;
  }
}

export function errorLine(err: unknown): string {
  const e = err as { message?: string; hint?: string } | undefined;
  return String(e?.message ?? err)
    .split('\n')[0]
    .slice(0, 300);
}

/** Sleep that ends early (rejecting) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
