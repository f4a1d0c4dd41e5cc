/**
 * Sliding sessions: created with their TTL, extended on every read with GETEX (one round
 * trip, atomic), destroyed explicitly. A session key can never exist without a TTL.
 */
import { randomBytes } from 'node:crypto';
import { helperClient } from './client.js';
import { durationOption, type Duration } from './options.js';

/** Options of {@link session}. */
export interface SessionOptions<T> {
  /** Idle timeout: a session not read for this long expires. Seconds or a duration such as `'30m'`. */
  ttl: Duration;
  /** Key prefix (default `'session:'`); the key is prefix + id. */
  prefix?: string;
  /** Value → stored string (default `JSON.stringify`). */
  serialize?: (value: T) => string;
  /** Stored string → value (default `JSON.parse`). */
  deserialize?: (text: string) => T;
}

/** A session store bound to one client and one prefix; see {@link session}. */
export interface SessionStore<T> {
  /** Store `data` under a new random id (192 bits, base64url) or the given one; returns the id. Never overwrites. */
  create(data: T, id?: string): Promise<string>;
  /** The session's data, extending its TTL (sliding expiry); null when it does not exist or has expired. */
  get(id: string): Promise<T | null>;
  /** Replace the data of an existing session and restart its TTL; false when it does not exist. */
  set(id: string, data: T): Promise<boolean>;
  /** Extend the TTL without reading; false when the session does not exist. */
  touch(id: string): Promise<boolean>;
  /** Delete the session; true when it existed. */
  destroy(id: string): Promise<boolean>;
  /** The Redis key of a session id. */
  key(id: string): string;
}

/**
 * A sliding-session store: every write carries the TTL (`SET … PX … NX|XX`), every read extends
 * it (`GETEX key PX ttl`), so an active session stays alive and an abandoned one expires.
 *
 * @example
 * const sessions = session<{ userId: string }>(redis, { ttl: '30m' });
 * const id = await sessions.create({ userId: 'ada' });
 * const data = await sessions.get(id); // and the session lives 30 more minutes
 */
export function session<T = unknown>(client: object, options: SessionOptions<T>): SessionStore<T> {
  const ttl = String(durationOption('session', 'ttl', options.ttl, 1000));
  const prefix = options.prefix ?? 'session:';
  const serialize = options.serialize ?? ((v: T) => JSON.stringify(v));
  const deserialize = options.deserialize ?? ((s: string) => JSON.parse(s) as T);
  const redis = helperClient(client);
  const key = (id: string) => prefix + id;

  return {
    key,
    async create(data, id = randomBytes(24).toString('base64url')) {
      const reply = await redis.command(key(id), ['SET', key(id), serialize(data), 'PX', ttl, 'NX']);
      if (reply !== 'OK') throw new Error(`session ${JSON.stringify(id)} already exists`);
      return id;
    },
    async get(id) {
      const text = (await redis.command(key(id), ['GETEX', key(id), 'PX', ttl])) as string | null;
      return text === null || text === undefined ? null : deserialize(text);
    },
    async set(id, data) {
      return (await redis.command(key(id), ['SET', key(id), serialize(data), 'PX', ttl, 'XX'])) === 'OK';
    },
    async touch(id) {
      return (await redis.command(key(id), ['PEXPIRE', key(id), ttl])) === 1;
    },
    async destroy(id) {
      return (await redis.command(key(id), ['DEL', key(id)])) === 1;
    },
  };
}
