import { createClient, type RedisClientType } from 'redis';
import Redis, { Cluster } from 'ioredis';

type Job = { id: string; payload: string };

export class JobQueue {
  private client: RedisClientType;
  private readonly cluster = new Cluster([{ host: 'redis-0', port: 6379 }]);
  private readonly jobs = new Map<string, Job>();

  constructor(url: string) {
    this.client = createClient({ url }) as RedisClientType;
  }

  async enqueue(job: Job): Promise<void> {
    this.jobs.set(job.id, job);
    await this.client.lPush('jobs:pending', JSON.stringify(job)); // @expect no-ttl
  }

  async remember(job: Job, ttlSeconds: number): Promise<void> {
    await this.client.set(`job:${job.id}`, job.payload, { EX: ttlSeconds });
  }

  async shard(job: Job): Promise<void> {
    await this.cluster.hset(`job:${job.id}:meta`, 'state', 'queued'); // @expect no-ttl
  }

  async shardWithTtl(job: Job): Promise<void> {
    await this.cluster.multi().hset(`job:${job.id}:meta`, 'state', 'queued').pexpire(`job:${job.id}:meta`, 60_000).exec();
  }
}

export async function withOptions(redis: Redis, key: string, value: string, ...opts: (string | number)[]): Promise<void> {
  // Options passed through: their TTL is unknown here, so no finding.
  await redis.set(key, value, ...opts);
}

export async function variableTtl(redis: Redis, key: string, value: string, mode: 'EX' | 'PX', ttl: number): Promise<void> {
  await redis.set(key, value, mode, ttl);
}

export async function hashThenExpire(redis: Redis, id: string): Promise<void> {
  await redis.hset(`order:${id}`, { status: 'new' }); // @expect non-atomic-expire
  await redis.expire(`order:${id}`, 86_400);
}

export async function expireBeforeWrite(redis: Redis, id: string): Promise<void> {
  // An EXPIRE before the write does not cover a key the write creates.
  await redis.expire(`draft:${id}`, 600);
  await redis.hset(`draft:${id}`, 'a', '1'); // @expect no-ttl
}

export async function scripted(redis: Redis, id: string): Promise<void> {
  // Scripts are not inspected.
  await redis.eval("redis.call('SET', KEYS[1], ARGV[1])", 1, `script:${id}`, '1');
}

export async function reads(redis: Redis, id: string): Promise<string | null> {
  await redis.hget(`order:${id}`, 'status');
  await redis.smembers(`tag:${id}`);
  await redis.zrange(`board:${id}`, 0, -1);
  return redis.get(`session:${id}`);
}

export function dom(el: HTMLElement, storage: Storage): void {
  el.setAttribute('data-x', '1');
  el.classList.add('active');
  storage.setItem('k', 'v');
  const params = new URLSearchParams();
  params.set('a', '1');
  params.append('b', '2');
}
