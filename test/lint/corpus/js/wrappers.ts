import type { Redis } from 'ioredis';
import IORedis from 'ioredis';

export class SessionStore {
  constructor(private readonly redis: Redis, private readonly ttlSeconds: number) {}

  async save(id: string, body: string): Promise<void> {
    await this.redis.set(`session:${id}`, body, 'EX', this.ttlSeconds);
  }

  async saveForever(id: string, body: string): Promise<void> {
    await this.redis.set(`session:${id}`, body); // @expect no-ttl
  }
}

export class Queue {
  private conn = new IORedis();

  async push(name: string, job: string): Promise<void> {
    await this.conn.rpush(`queue:${name}`, job); // @expect no-ttl
  }
}

export async function withParam(redisClient: Redis, id: string): Promise<void> {
  await redisClient.hincrby(`stats:${id}`, 'hits', 1); // @expect no-ttl
}

export async function withTypedParam(db: Redis, id: string): Promise<void> {
  await db.pfadd(`uniq:${id}`, 'x'); // @expect no-ttl
}

export async function setAndExpire(redis: Redis, id: string): Promise<void> {
  const tx = redis.multi();
  tx.set(`otp:${id}`, '1234');
  tx.expire(`otp:${id}`, 300);
  await tx.exec();
}

export async function ttlInOtherFunction(redis: Redis, id: string): Promise<void> {
  // A known blind spot: the TTL is set by a helper, so this write is reported.
  await redis.set(`pending:${id}`, '1'); // @expect no-ttl
  await applyTtl(redis, `pending:${id}`);
}

async function applyTtl(redis: Redis, key: string): Promise<void> {
  await redis.expire(key, 60);
}

export function headers(): Headers {
  const h = new Headers();
  h.set('content-type', 'application/json');
  h.append('vary', 'accept');
  return h;
}

export async function suppressed(redis: Redis, id: string): Promise<void> {
  // keywarden-ignore-next-line no-ttl -- the index is rebuilt nightly and deleted by the rebuild job
  await redis.sadd(`index:${id}`, 'x');
}
