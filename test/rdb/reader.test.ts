/**
 * The reader against the truth: a real redis-server writes every type and encoding and
 * saves; each key read from the dump must match what the server says about it (type,
 * length, expiry, content). The same dump fed byte by byte gives the same keys. Hostile
 * input (every truncation, crafted lengths, unknown versions) ends in one error naming the
 * byte offset, never a hang or an allocation sized by the file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, after, test } from 'node:test';
import type { Redis } from 'ioredis';
import { crc64 } from '../../src/rdb/crc64.js';
import { RdbFormatError, RdbVersionError } from '../../src/rdb/errors.js';
import { bufferSource, type ByteSource } from '../../src/rdb/input.js';
import { readRdb, type RdbKey } from '../../src/rdb/reader.js';
import type { HashField } from '../../src/rdb/values.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { writeDataset } from './dataset.js';

let server: RedisServer;
let client: Redis;
let dump: Buffer;

before(async () => {
  server = await startRedis();
  client = server.client();
  await writeDataset(client, 20);
  await client.set('bin:\x00\xff\x1b[31m', Buffer.from([0, 1, 2, 255]));
  await client.select(3);
  await client.set('in-db-3', 'x', 'PX', 10_000_000);
  await client.select(0);
  await client.save();
  dump = readFileSync(join(server.dir, 'dump.rdb'));
});

after(async () => {
  client.disconnect();
  await server.stop();
});

function readAll(source: ByteSource, keep = true): RdbKey[] {
  const keys: RdbKey[] = [];
  readRdb(source, { file: 'dump.rdb', keep, onKey: (k) => keys.push(k) });
  return keys;
}

/** A source that hands out at most `step` bytes per read, as a slow socket would. */
function trickle(data: Buffer, step: number): ByteSource {
  let at = 0;
  return {
    size: data.length,
    read(into, offset, length) {
      const n = Math.min(step, length, data.length - at);
      data.copy(into, offset, at, at + n);
      at += n;
      return n;
    },
  };
}

const sortBuffers = (list: Buffer[]) => list.map((b) => b.toString('latin1')).sort();

test('every key read from a dump matches the live server: type, length, expiry, content', async () => {
  const keys = readAll(bufferSource(dump));
  assert.equal(keys.filter((k) => k.db === 0).length, await client.dbsize());
  for (const k of keys) {
    const c = k.db === 3 ? server.client({ db: 3 }) : client;
    try {
      const name = k.key;
      assert.equal(k.type, await c.type(name), `${name} type`);
      const expireAt = Number(await c.call('PEXPIRETIME', name));
      assert.equal(k.expireAtMs, expireAt, `${name} expiry`);
      switch (k.type) {
        case 'string':
          assert.deepEqual(k.content, await c.getBuffer(name));
          assert.equal(k.length, await c.strlen(name));
          break;
        case 'list':
          assert.deepEqual(k.content, await c.lrangeBuffer(name, 0, -1));
          break;
        case 'set':
          assert.deepEqual(sortBuffers(k.content as Buffer[]), sortBuffers(await c.smembersBuffer(name)));
          break;
        case 'zset': {
          const live = await c.zrange(name, '0', '-1', 'WITHSCORES');
          const mine = (k.content as Array<[Buffer, number]>).map(([m, s]) => `${m.toString()}=${s}`).sort();
          const want: string[] = [];
          for (let i = 0; i < live.length; i += 2) want.push(`${live[i]}=${Number(live[i + 1])}`);
          assert.deepEqual(mine, want.sort());
          break;
        }
        case 'hash': {
          const live = await c.hgetall(name);
          assert.deepEqual(Object.fromEntries((k.content as HashField[]).map(([f, v]) => [f.toString(), v.toString()])), live);
          break;
        }
        case 'stream':
          assert.equal(k.length, await c.xlen(name));
          break;
        default:
          assert.fail(`unexpected type ${k.type}`);
      }
      const lengthOf: Record<string, (key: Buffer) => Promise<number>> = {
        list: (x) => c.llen(x),
        set: (x) => c.scard(x),
        zset: (x) => c.zcard(x),
        hash: (x) => c.hlen(x),
      };
      const len = lengthOf[k.type];
      if (len) assert.equal(k.length, await len(name), `${name} length`);
    } finally {
      if (c !== client) c.disconnect();
    }
  }
});

test('the same dump fed 1, 7 and 4096 bytes at a time gives the same keys', () => {
  const whole = readAll(bufferSource(dump)).map((k) => [k.key, k.type, k.length, k.totalBytes, k.expireAtMs]);
  for (const step of [1, 7, 4096])
    assert.deepEqual(
      readAll(trickle(dump, step)).map((k) => [k.key, k.type, k.length, k.totalBytes, k.expireAtMs]),
      whole,
    );
});

test('the CRC64 is Jones (check value of "123456789") and a flipped byte fails the checksum at its offset', () => {
  assert.equal(crc64(Buffer.from('123456789')), 0xe9c6d914c4b8d9can);
  const bad = Buffer.from(dump);
  bad[bad.length - 3] ^= 0xff;
  assert.throws(
    () => readAll(bufferSource(bad)),
    (e: unknown) => e instanceof RdbFormatError && /checksum/.test(e.message) && e.offset === dump.length - 8,
  );
});

test('every truncation of a dump is refused with an offset inside the file, quickly', () => {
  const small = dump.subarray(0, 4000);
  const started = Date.now();
  for (let cut = 0; cut < small.length; cut += 1) {
    assert.throws(
      () => readAll(bufferSource(small.subarray(0, cut)), false),
      (e: unknown) => (e instanceof RdbFormatError && e.offset <= cut) || (e instanceof RdbVersionError && cut < 9),
      `cut at ${cut}`,
    );
  }
  assert.ok(Date.now() - started < 20_000);
});

const header = Buffer.from('REDIS0011');
const eof = Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
const craft = (...parts: Array<number[] | Buffer>) => Buffer.concat([header, ...parts.map((p) => Buffer.from(p)), eof]);

test('crafted lengths are refused before anything is allocated: 2^63, past the end, a lying ziplist', () => {
  // A string key whose length is 2^63.
  const huge = craft([0x00, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(
    () => readAll(bufferSource(huge)),
    (e: unknown) => e instanceof RdbFormatError && /beyond any real dump/.test(e.message) && e.offset === 11,
  );
  // A set claiming 2^31 members in a few bytes.
  const many = craft([0x02, 0x01, 0x73, 0x80, 0x80, 0, 0, 0]);
  assert.throws(
    () => readAll(bufferSource(many)),
    (e: unknown) => e instanceof RdbFormatError && /past the end/.test(e.message),
  );
  // A ziplist list whose entry says 60 bytes in a 16-byte blob.
  const zl = Buffer.alloc(16);
  zl.writeUInt32LE(16, 0);
  zl.writeUInt32LE(10, 4);
  zl.writeUInt16LE(1, 8);
  zl[10] = 0;
  zl[11] = 60;
  zl[15] = 0xff;
  const lying = craft([0x0a, 0x01, 0x6c, zl.length], zl);
  assert.throws(
    () => readAll(bufferSource(lying)),
    (e: unknown) => e instanceof RdbFormatError && /ziplist/.test(e.message) && e.offset === 12,
  );
  // Module data that never ends.
  const module = craft([0x07, 0x01, 0x6d, 0x81, 1, 2, 3, 4, 5, 6, 7, 8, ...Array.from({ length: 100 }, () => 0x02).flatMap(() => [0x02, 0x05])]);
  assert.throws(
    () => readAll(bufferSource(module)),
    (e: unknown) => e instanceof RdbFormatError,
  );
});

test('zero-length everything: an empty file, an empty dump, empty strings', () => {
  assert.throws(() => readAll(bufferSource(Buffer.alloc(0))), RdbVersionError);
  assert.equal(readAll(bufferSource(craft())).length, 0);
  const emptyKeyAndValue = readAll(bufferSource(craft([0x00, 0x00, 0x00])));
  assert.equal(emptyKeyAndValue.length, 1);
  assert.equal(emptyKeyAndValue[0].length, 0);
  // An empty collection is corruption (Redis never writes one).
  assert.throws(
    () => readAll(bufferSource(craft([0x02, 0x01, 0x73, 0x00]))),
    (e: unknown) => e instanceof RdbFormatError && /empty set/.test(e.message),
  );
});

test('unknown versions are refused naming the version; an AOF without preamble is named as such', () => {
  for (const h of ['REDIS0013', 'VALKEY090', 'NOTADUMP!']) {
    assert.throws(
      () => readAll(bufferSource(Buffer.concat([Buffer.from(h), eof]))),
      (e: unknown) => e instanceof RdbVersionError && e.message.includes(h),
    );
  }
  assert.throws(
    () => readAll(bufferSource(Buffer.from('*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n'))),
    (e: unknown) => e instanceof RdbVersionError && /AOF without an RDB preamble/.test(e.message),
  );
});

test('an AOF with an RDB preamble: the dump is read, the AOF tail counted', () => {
  const tail = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n');
  const summary = readRdb(bufferSource(Buffer.concat([dump, tail])), { file: 'appendonly.aof', onKey: () => undefined });
  assert.equal(summary.aofTailBytes, tail.length);
  assert.equal(summary.checksum, 'verified');
});

test('a value above the materialising limit is walked, not held: 600 MB string skipped on the audit path, refused when content is asked for', () => {
  const size = 600 * 1024 * 1024;
  const head = Buffer.concat([
    header,
    Buffer.from([0x00, 0x01, 0x62, 0x80]),
    Buffer.from([size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff]),
  ]);
  const tailBytes = Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
  const total = head.length + size + tailBytes.length;
  const lazy = (): ByteSource => {
    let at = 0;
    return {
      size: total,
      read(into, offset, length) {
        const n = Math.min(length, total - at);
        into.fill(0x61, offset, offset + n);
        for (let i = 0; i < n && at + i < head.length; i++) into[offset + i] = head[at + i];
        for (let p = Math.max(at, head.length + size); p < at + n; p++) into[offset + p - at] = tailBytes[p - head.length - size];
        at += n;
        return n;
      },
    };
  };
  const keys = readAll(lazy(), false);
  assert.equal(keys[0].length, size);
  assert.throws(
    () => readAll(lazy(), true),
    (e: unknown) => e instanceof RdbFormatError && /limit for one value/.test(e.message),
  );
});
