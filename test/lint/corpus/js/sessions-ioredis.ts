import Redis from 'ioredis';
import type { Request, Response } from 'express';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://localhost:6379');
const SESSION_PREFIX = 'session:';
const SESSION_TTL = 60 * 60 * 24;

export async function createSession(userId: string, data: object): Promise<string> {
  const id = crypto.randomUUID();
  await redis.set(`${SESSION_PREFIX}${id}`, JSON.stringify({ userId, ...data })); // @expect no-ttl
  return id;
}

export async function createSessionWithTtl(userId: string): Promise<string> {
  const id = crypto.randomUUID();
  await redis.set(`${SESSION_PREFIX}${id}`, userId, 'EX', SESSION_TTL);
  return id;
}

export async function touchSession(id: string): Promise<void> {
  await redis.set(SESSION_PREFIX + id, '1', 'PX', 1000 * SESSION_TTL, 'NX');
}

export async function replaceSession(id: string, body: string): Promise<void> {
  await redis.set(`session:${id}`, body, 'KEEPTTL');
}

export async function lockOnce(name: string): Promise<boolean> {
  return (await redis.set(`lock:${name}`, '1', 'NX')) === 'OK'; // @expect no-ttl
}

export async function cacheUser(id: string, user: object): Promise<void> {
  await redis.setex(`cache:user:${id}`, 3600, JSON.stringify(user));
}

export async function saveProfile(id: string, profile: Record<string, string>): Promise<void> {
  // Durable under the policy: profiles are meant to live forever.
  await redis.hset(`user:${id}:profile`, profile);
}

export async function recordVisit(page: string): Promise<void> {
  await redis.incr(`visits:${page}`); // @expect no-ttl
}

export async function rateLimit(ip: string, limit: number): Promise<boolean> {
  const key = `ratelimit:${ip}`;
  const count = await redis.incr(key); // @expect non-atomic-expire
  if (count === 1) await redis.expire(key, 60);
  return count <= limit;
}

export async function rateLimitAtomic(ip: string, limit: number): Promise<boolean> {
  const key = `ratelimit:${ip}`;
  const [[, count]] = (await redis.multi().incr(key).expire(key, 60, 'NX').exec()) as [[null, number]];
  return count <= limit;
}

export async function pushEvent(userId: string, event: string): Promise<void> {
  const pipe = redis.pipeline();
  pipe.lpush(`events:${userId}`, event);
  pipe.ltrim(`events:${userId}`, 0, 99);
  pipe.expire(`events:${userId}`, 7 * 86400);
  await pipe.exec();
}

export async function pushEventForever(userId: string, event: string): Promise<void> {
  const pipe = redis.pipeline();
  pipe.lpush(`feed:${userId}`, event); // @expect no-ttl
  pipe.ltrim(`feed:${userId}`, 0, 99);
  await pipe.exec();
}

export async function tagItem(tag: string, item: string): Promise<void> {
  await redis.sadd(`tag:${tag}`, item); // @expect no-ttl
}

export async function leaderboard(board: string, player: string, score: number): Promise<void> {
  await redis.zadd(`board:${board}`, score, player); // @expect no-ttl
  await redis.zadd(`daily:${board}`, score, player); // @expect non-atomic-expire
  await redis.expireat(`daily:${board}`, Math.floor(Date.now() / 1000) + 86400);
}

export async function appendLog(id: string, line: string): Promise<void> {
  await redis.xadd(`log:${id}`, '*', 'line', line); // @expect no-ttl
}

export async function appendLogBounded(id: string, line: string): Promise<void> {
  await redis.xadd(`log:${id}`, 'NOMKSTREAM', '*', 'line', line);
}

export async function rawWrite(id: string): Promise<void> {
  await redis.call('SET', `raw:${id}`, '1'); // @expect no-ttl
  await redis.call('SET', `raw2:${id}`, '1', 'EX', '30');
}

export async function batchForm(id: string): Promise<void> {
  await redis.multi([
    ['hset', `cart:${id}`, 'total', '0'],
    ['expire', `cart:${id}`, '3600'],
  ]).exec();
  await redis.pipeline([['sadd', `seen:${id}`, 'x']]).exec(); // @expect no-ttl
}

export function handler(req: Request, res: Response): void {
  res.set('Cache-Control', 'no-store');
  res.setHeader('X-Frame-Options', 'DENY');
  const seen = new Set<string>();
  seen.add(req.path);
  res.send('ok');
}

export async function readOnly(id: string): Promise<string | null> {
  const value = await redis.get(`session:${id}`);
  await redis.ttl(`session:${id}`);
  await redis.del(`tmp:${id}`);
  return value;
}
