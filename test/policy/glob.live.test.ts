import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGlob } from '../../src/policy/glob.js';
import { startRedis } from '../support/redis.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const KEYS = [
  '',
  'a',
  'ab',
  'abc',
  'a*b',
  'a?b',
  'a[b',
  'a]b',
  'a\\b',
  'a-b',
  'a^b',
  '^',
  '-',
  '[',
  ']',
  '\\',
  '*',
  '?',
  'session:1',
  'session:',
  'sess',
  'user:1:profile',
  'user::profile',
  'user:1:profile:x',
  '\x00',
  'a\x00b',
  '\xff',
  '\x80',
  '\xc3\xa9',
  'caf\xc3\xa9:1',
  'a\nb',
  'z',
  'A',
  '_',
].map(b);

const GLOBS = [
  '*',
  '**',
  '',
  'a*',
  '*b',
  '?',
  '??',
  'a?b',
  'a\\*b',
  'a[*]b',
  '[a-c]*',
  '[c-a]*',
  '[^a]*',
  '[]',
  '[',
  '[^',
  '[ab',
  '[a-]',
  '[-a]',
  '[\\]]',
  '[\\-]',
  '\\',
  'a\\',
  '[a\\',
  '\\?',
  'user:*:profile',
  'session:*',
  '*:*',
  '*\\**',
  'a*b*',
  '[\x00-a]',
  '[a-\xff]',
  '[\x80-\xff]',
  '?\xa9',
  'caf?*',
  '*\x00*',
  '[^\x00-\x7f]*',
].map(b);

test('compileGlob agrees with SCAN MATCH on a real redis-server (binary keys included)', async () => {
  const server = await startRedis();
  const redis = server.client();
  try {
    await redis.mset(...KEYS.flatMap((k) => [k, '1']));
    assert.equal(await redis.dbsize(), KEYS.length);
    const disagreements: string[] = [];
    for (const glob of GLOBS) {
      const fromRedis = new Set<string>();
      let cursor = '0';
      do {
        // callBuffer because ioredis types MATCH as a string; the glob must go over the wire as raw bytes.
        const [next, keys] = (await redis.callBuffer('SCAN', cursor, 'MATCH', glob, 'COUNT', '1000')) as [Buffer, Buffer[]];
        cursor = next.toString();
        for (const key of keys) fromRedis.add(key.toString('hex'));
      } while (cursor !== '0');
      const matches = compileGlob(glob);
      for (const key of KEYS) {
        const ours = matches(key);
        if (ours !== fromRedis.has(key.toString('hex'))) {
          disagreements.push(`glob ${JSON.stringify(glob.toString('latin1'))} key ${JSON.stringify(key.toString('latin1'))}: redis ${!ours}, ours ${ours}`);
        }
      }
    }
    assert.deepEqual(disagreements, []);
  } finally {
    redis.disconnect();
    await server.stop();
  }
});
