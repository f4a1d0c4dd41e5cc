/**
 * The latency guard aims at a concurrent p99 near 1 ms. On a busy host (shared CPU, a noisy
 * neighbour) the server's p99 is above that before fix sends anything, and a guard aiming
 * below the ambient level would pause forever without making anyone's latency better. So
 * before writing, fix measures the ambient p99 of PING on each node for a moment, and the
 * guard aims at the larger of the two: fix then adds no more than the latency already there.
 */
import { openNodeConnection, type Target } from '../target/connect.js';

const SAMPLE_MS = 400;

/** p99 of sequential PINGs on a fresh connection to every node, over `ms` milliseconds; the worst node's. */
export async function ambientP99(target: Target, ms = SAMPLE_MS): Promise<number> {
  const perNode = await Promise.all(
    target.nodes.map(async (node) => {
      const client = await openNodeConnection(target, node).catch(() => undefined);
      if (!client) return 0;
      const samples: number[] = [];
      const end = performance.now() + ms;
      try {
        while (performance.now() < end) {
          const t0 = performance.now();
          await client.ping();
          samples.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 1));
        }
      } finally {
        client.disconnect();
      }
      samples.sort((a, b) => a - b);
      return samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))] ?? 0;
    }),
  );
  return Math.max(0, ...perNode);
}
