/**
 * The two-topology harness shared by the node-redis integrations: a library's workload runs
 * once on a raw client and once on a guarded second client of the same kind, on a standalone
 * server and on a real 3-master cluster.
 */
import { after, before, describe, it } from 'node:test';
import { createClient, createCluster } from 'redis';
import { guard, type GuardOptions } from '../../src/guard/index.js';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the libraries type their clients loosely */
export type Check = (raw: any, guarded: any) => Promise<void>;

export function describeOnNodeRedis(title: string, tests: { standalone: string; cluster: string }, policy: GuardOptions['policy'], check: Check): void {
  describe(title, () => {
    let server: RedisServer;
    let cluster: RedisCluster;
    before(async () => {
      server = await startRedis();
      cluster = await startCluster();
    });
    after(async () => {
      await Promise.all([server?.stop(), cluster?.stop()]);
    });

    it(tests.standalone, async () => {
      const raw = await createClient({ url: server.url }).connect();
      const other = await createClient({ url: server.url }).connect();
      try {
        await check(raw, guard(other as any, { policy }));
      } finally {
        await Promise.all([raw.close(), other.close()]);
      }
    });

    it(tests.cluster, async () => {
      const rootNodes = cluster.masters.map((m) => ({ url: m.url }));
      const raw = await createCluster({ rootNodes }).connect();
      const other = await createCluster({ rootNodes }).connect();
      try {
        await check(raw, guard(other as any, { policy }));
      } finally {
        await Promise.all([raw.close(), other.close()]);
      }
    });
  });
}
/* eslint-enable @typescript-eslint/no-explicit-any */
