/**
 * The checks `fix` makes before anything is written: every TTL it can send clears the shared
 * floor, and every node is a primary that knows `EXPIRE … NX`.
 */
import { assertKeyTtl } from '../policy/index.js';
import type { Target } from '../target/connect.js';
import type { FixOptions } from './types.js';
import { UnsupportedServerError } from './errors.js';

/**
 * Every TTL this run can send clears the shared floor (policy/min-ttl.ts), checked before the
 * first connection is used: `--max-ttl 0` would otherwise delete every key it caps.
 */
export function checkTtls(options: FixOptions): void {
  if (options.maxTtlMs !== undefined) assertKeyTtl(options.maxTtlMs, '--max-ttl', '--max-ttl 30d');
  for (const rule of options.policy.rules) {
    if (rule.role === 'durable' || rule.ttlMs === undefined) continue;
    assertKeyTtl(rule.ttlMs, `rules[${rule.index}] (${JSON.stringify(rule.match)}): ttl`);
  }
}

/** Apply only: Redis 7.0 or newer (for NX), and primaries only. */
export async function checkWritable(target: Target): Promise<void> {
  const major = Number(/^(\d+)\./.exec(target.redisVersion)?.[1]);
  if (Number.isFinite(major) && major < 7) {
    throw new UnsupportedServerError(
      `${target.spec.display} runs Redis ${target.redisVersion}: fix needs EXPIRE … NX, new in Redis 7.0`,
      'upgrade the server; fix will not fall back to TTL-then-EXPIRE, which races with the application',
    );
  }
  // Writes go to primaries: a replica refuses them (READONLY), or takes them and loses them at the next sync.
  for (const node of target.nodes) {
    const role = /role:(\w+)/.exec(await node.client.info('replication').catch(() => ''))?.[1];
    if (role === 'slave') {
      throw new UnsupportedServerError(
        `${node.address} is a read-only replica: TTLs can only be written on the primary`,
        'point the command at the primary (INFO replication on the replica shows master_host and master_port)',
      );
    }
  }
}
