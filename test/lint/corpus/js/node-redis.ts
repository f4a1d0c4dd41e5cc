import { createClient } from 'redis';

const client = createClient({ url: process.env.REDIS_URL });
await client.connect();

export async function storeToken(id: string, token: string): Promise<void> {
  await client.set(`token:${id}`, token, { EX: 900 });
}

export async function storeTokenV5(id: string, token: string): Promise<void> {
  await client.set(`token:${id}`, token, { expiration: { type: 'EX', value: 900 } });
}

export async function storeForever(id: string, token: string): Promise<void> {
  await client.set(`token:${id}`, token); // @expect no-ttl
}

export async function storeNx(id: string): Promise<void> {
  await client.set(`once:${id}`, '1', { NX: true }); // @expect no-ttl
}

export async function cachePage(url: string, html: string): Promise<void> {
  await client.setEx(`cache:page:${url}`, 300, html);
}

export async function userHash(id: string): Promise<void> {
  await client.hSet(`cart:${id}`, { items: '0' }); // @expect no-ttl
}

export async function userHashWithExpire(id: string): Promise<void> {
  await client.multi().hSet(`cart:${id}`, { items: '0' }).expire(`cart:${id}`, 3600).exec();
}

export async function follow(a: string, b: string): Promise<void> {
  await client.sAdd(`followers:${b}`, a); // @expect no-ttl
}

export async function counter(name: string): Promise<number> {
  const n = await client.incrBy(`count:${name}`, 5); // @expect non-atomic-expire
  await client.pExpire(`count:${name}`, 60_000);
  return n;
}

export async function raw(id: string): Promise<void> {
  await client.sendCommand(['HSET', `raw:${id}`, 'a', '1']); // @expect no-ttl
  await client.sendCommand(['SET', `raw:${id}:ttl`, '1', 'EX', '10']);
}

export async function listPush(id: string): Promise<void> {
  const multi = client.multi();
  multi.rPush(`jobs:${id}`, 'a');
  multi.expire(`jobs:${id}`, 600);
  await multi.exec();
}

export async function configValue(name: string, value: string): Promise<void> {
  await client.set(`config:${name}`, value);
}

export async function unrelated(url: URL, form: FormData, params: URLSearchParams): Promise<void> {
  url.searchParams.set('page', '2');
  params.append('q', 'redis');
  form.append('file', 'x');
  document.cookie = 'a=b';
  localStorage.setItem('k', 'v');
  sessionStorage.setItem('k', 'v');
}
