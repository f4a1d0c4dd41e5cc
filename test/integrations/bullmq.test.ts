/**
 * BullMQ through guard(): Lua scripts, blocking commands (BZPOPMIN markers), MULTI, duplicate()
 * connections. The same workload runs on a raw and a guarded ioredis client; the queue's own
 * keys follow their rule (role: durable: BullMQ removes them itself), the application's keys get theirs, and an
 * idle worker blocks instead of spinning.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue, Worker, type Job } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { guard } from '../../src/guard/index.js';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';

const POLICY = {
  rules: [
    { match: 'bull:*', role: 'durable' },
    { match: 'app:*', ttl: '1h' },
  ],
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(() => server?.stop());

/** Commands the servers (every master of a cluster) have served so far. */
async function commandsServed(servers: RedisServer[] = [server]): Promise<number> {
  let total = 0;
  for (const s of servers) {
    const c = s.client();
    try {
      const stats = await c.info('commandstats');
      total += [...stats.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    } finally {
      c.disconnect();
    }
  }
  return total;
}

/** Add jobs, process them (each job also writes an app key), and report what came out. */
async function workload(
  name: string,
  connection: Redis | Cluster,
  options: { prefix?: string; servers?: RedisServer[] } = {},
): Promise<{ results: unknown[]; idleCommands: number }> {
  const commandsServedHere = () => commandsServed(options.servers);
  const queue = new Queue(name, { connection, prefix: options.prefix });
  const results: unknown[] = [];
  const worker = new Worker(
    name,
    async (job: Job<{ n: number }>) => {
      await connection.hset(`app:${name}:seen:${job.data.n}`, 'job', String(job.id));
      return job.data.n * 2;
    },
    { connection, concurrency: 2, prefix: options.prefix },
  );
  const done = new Promise<void>((resolve) =>
    worker.on('completed', (job, value) => {
      results.push([job.data.n, value]);
      if (results.length === 20) resolve();
    }),
  );
  for (let n = 0; n < 20; n++) await queue.add('double', { n }, { removeOnComplete: false });
  await done;
  // An idle worker waits in a blocking command: a couple of commands a second at most.
  await sleep(300);
  const before = await commandsServedHere();
  await sleep(2000);
  const idleCommands = (await commandsServedHere()) - before;
  await worker.close();
  await queue.close();
  results.sort((a, b) => (a as number[])[0] - (b as number[])[0]);
  return { results, idleCommands };
}

describe('BullMQ through guard()', () => {
  it('processes the same jobs with the same results as the raw client, and an idle worker still blocks', async () => {
    const rawConn = new Redis(server.url, { maxRetriesPerRequest: null });
    const guardedConn = guard(new Redis(server.url, { maxRetriesPerRequest: null }), { policy: POLICY });
    try {
      const raw = await workload('rawq', rawConn);
      const guarded = await workload('guardedq', guardedConn);
      assert.deepEqual(guarded.results, raw.results);
      assert.equal(guarded.results.length, 20);
      assert.ok(guarded.idleCommands < 40, `idle guarded worker: ${guarded.idleCommands} commands in 2 s (raw: ${raw.idleCommands})`);
      // Keys: the queue's get no TTL from the guard (role: durable), the application's get the rule's.
      const c = server.client();
      try {
        let cursor = '0';
        let queueKeys = 0;
        do {
          const [next, keys] = await c.scan(cursor, 'MATCH', 'bull:guardedq:*', 'COUNT', 1000);
          cursor = next;
          for (const key of keys) {
            queueKeys++;
            // No TTL from the guard; where BullMQ sets its own (stalled-check), the raw run has it too.
            const own = await c.pttl(key.replace('bull:guardedq:', 'bull:rawq:'));
            const ttl = await c.pttl(key);
            assert.equal(ttl === -1, own === -1, `${key}: PTTL ${ttl}, the raw run's ${own}`);
          }
        } while (cursor !== '0');
        assert.ok(queueKeys >= 20);
        for (let n = 0; n < 20; n++) {
          const ttl = await c.pttl(`app:guardedq:seen:${n}`);
          assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `app key ${n}: ${ttl}`);
        }
      } finally {
        c.disconnect();
      }
    } finally {
      rawConn.disconnect();
      guardedConn.disconnect();
    }
  });
});

describe('BullMQ through guard() on a Redis Cluster', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(() => cluster?.stop());

  it('a hash-tagged prefix ({bull}): the same results as the raw cluster client, an idle worker blocks, TTLs as on standalone', async () => {
    const open = () => new Cluster([{ host: '127.0.0.1', port: cluster.masters[0].port }], { redisOptions: { maxRetriesPerRequest: null } });
    const rawConn = open();
    const guardedConn = guard(open(), {
      policy: {
        rules: [
          { match: '{bull}:*', role: 'durable' },
          { match: 'app:*', ttl: '1h' },
        ],
      },
    });
    const options = { prefix: '{bull}', servers: cluster.masters };
    try {
      const raw = await workload('rawq', rawConn, options);
      const guarded = await workload('guardedq', guardedConn, options);
      assert.deepEqual(guarded.results, raw.results);
      assert.equal(guarded.results.length, 20);
      assert.ok(guarded.idleCommands < 80, `idle guarded worker: ${guarded.idleCommands} commands in 2 s (raw: ${raw.idleCommands})`);
      for (let n = 0; n < 20; n++) {
        const ttl = await rawConn.pttl(`app:guardedq:seen:${n}`);
        assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `app key ${n}: ${ttl}`);
        assert.equal(await rawConn.pttl(`app:rawq:seen:${n}`), -1, 'without the guard it would live forever');
      }
      // The queue's keys: no TTL from the guard, BullMQ's own where the raw run has one too.
      let queueKeys = 0;
      for (const node of rawConn.nodes('master')) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', '{bull}:guardedq:*', 'COUNT', 1000);
          cursor = next;
          for (const key of keys) {
            queueKeys++;
            const own = await rawConn.pttl(key.replace('{bull}:guardedq:', '{bull}:rawq:'));
            const ttl = await rawConn.pttl(key);
            assert.equal(ttl === -1, own === -1, `${key}: PTTL ${ttl}, the raw run's ${own}`);
          }
        } while (cursor !== '0');
      }
      assert.ok(queueKeys >= 20, `${queueKeys} queue keys`);
    } finally {
      rawConn.disconnect();
      guardedConn.disconnect();
    }
  });
});
