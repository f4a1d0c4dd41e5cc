import Keyv from 'keyv';
import { createCache } from 'cache-manager';
import { LRUCache } from 'lru-cache';

const keyv = new Keyv('redis://localhost:6379');
const keyvWithTtl = new Keyv({ uri: 'redis://localhost:6379', ttl: 60_000 });
const cache = createCache({ stores: [] });
const cacheWithTtl = createCache({ ttl: 10_000 });
const lru = new LRUCache({ max: 500 });
const memo = new Map();

export async function remember(key, value) {
  await keyv.set(`cache:${key}`, value); // @expect no-ttl
  await keyv.set(`cache:${key}`, value, 5000);
  await keyv.set(`cache:${key}`, value, 0); // @expect ttl-zero
  await keyvWithTtl.set(`cache:${key}`, value);
}

export async function memoize(key, value) {
  await cache.set(`page:${key}`, value); // @expect no-ttl
  await cache.set(`page:${key}`, value, 0); // @expect ttl-zero
  await cache.set(`page:${key}`, value, undefined); // @expect ttl-zero
  await cache.set(`page:${key}`, value, 30_000);
  await cacheWithTtl.set(`page:${key}`, value);
  lru.set(key, value);
  memo.set(key, value);
}

export class Store {
  constructor() {
    this.items = new Map();
  }

  put(key, value) {
    this.items.set(key, value);
  }
}
