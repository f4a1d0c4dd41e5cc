import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { cursorAt, cursorPosition } from '../../src/keyspace/cursor.js';
import { createInspector, decodeRecords, type ScriptInspector, type WalkRequest } from '../../src/keyspace/inspect.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const KEYS = 20_000;

describe('scan-inspect.lua: one self-timed step of the walk', () => {
  let server: RedisServer;
  let client: Redis;
  let lua: ScriptInspector;
  before(async () => {
    server = await startRedis();
    client = server.client();
    const p = client.pipeline();
    for (let i = 0; i < KEYS; i++) p.set(`k:${i}`, 'v');
    p.hset('h', 'a', '1', 'b', '2').pexpire('h', 600_000);
    await p.exec();
    const inspector = await createInspector(client);
    assert.equal(inspector.method, 'lua');
    lua = inspector as ScriptInspector;
  });
  after(async () => {
    client.disconnect();
    await server.stop();
  });

  const request = (over: Partial<WalkRequest>): WalkRequest => ({
    cursor: '0',
    pageCount: 50,
    budgetMs: 1,
    maxKeys: 0,
    stopAt: 1,
    tableKeys: KEYS + 1,
    ...over,
  });

  /** Walk [from, stopAt) with `over`'s settings; every key read, in order. */
  async function walk(over: Partial<WalkRequest>, from = '0', stopAt = 1): Promise<{ keys: string[]; calls: number }> {
    const keys: string[] = [];
    let cursor = from;
    let calls = 0;
    for (;;) {
      const step = await lua.walk(request({ ...over, cursor, stopAt }));
      calls++;
      keys.push(...step.decode().records.map((r) => r.key.toString()));
      cursor = step.next;
      if (cursor === '0' || (stopAt < 1 && cursorPosition(cursor) >= stopAt)) return { keys, calls };
    }
  }

  it('reads pages until its time budget is nearly spent, then returns where it stopped; calls chain to every key once', async () => {
    const first = await lua.walk(request({ budgetMs: 1 }));
    assert.notEqual(first.next, '0', 'one 1 ms call read the whole table');
    assert.ok(first.keys >= 50 && first.keys < KEYS, `first call read ${first.keys} keys`);
    // It stops once what is left of the budget would not fill a quarter of its first page.
    assert.ok(first.serverMs >= 0.75, `stopped after ${first.serverMs} ms, well before its 1 ms budget`);
    assert.ok(first.scanned > 100, `${first.scanned} buckets asked: more than two pages of 50`);

    const { keys, calls } = await walk({ budgetMs: 1 });
    assert.equal(keys.length, KEYS + 1);
    assert.equal(new Set(keys).size, KEYS + 1);
    assert.ok(calls > 2, `${calls} calls`);
  });

  it('sizes later pages to the budget left: a first page that fills the budget is the only one', async () => {
    const one = await lua.walk(request({ budgetMs: 0.2, pageCount: 2000 }));
    assert.equal(one.scanned, 2000, `${one.scanned} buckets asked`);
  });

  it('reads a single page with no budget, and stops at maxKeys', async () => {
    const one = await lua.walk(request({ budgetMs: 0, pageCount: 10 }));
    assert.ok(one.keys > 0 && one.keys < 40, `a COUNT 10 page gave ${one.keys} keys`);
    const capped = await lua.walk(request({ budgetMs: 1000, pageCount: 10, maxKeys: 100 }));
    assert.ok(capped.keys >= 100 && capped.keys < 140, `maxKeys 100 gave ${capped.keys} keys`);
  });

  it('stops at a stretch end and never returns a key past it: two halves of the walk read every key once', async () => {
    // Big pages make the last page of the first half run past its end: it is read again
    // bucket by bucket.
    const a = await walk({ budgetMs: 0.5, pageCount: 500 }, '0', 0.5);
    const b = await walk({ budgetMs: 0.5, pageCount: 500 }, cursorAt(0.5), 1);
    assert.ok(Math.abs(a.keys.length - KEYS / 2) < KEYS * 0.05, `first half ${a.keys.length}`);
    const all = [...a.keys, ...b.keys];
    assert.equal(all.length, KEYS + 1);
    assert.equal(new Set(all).size, KEYS + 1);
    // A table size guessed ten times too big: every last page overshoots, and is re-read.
    const wrong = await walk({ budgetMs: 0.5, pageCount: 500, tableKeys: KEYS * 10 }, '0', 0.5);
    assert.deepEqual(wrong.keys.sort(), a.keys.sort());
  });

  it('packs type, TTL, memory and length per key', async () => {
    // Generous calls; the byte budget on key names still splits the table into a few.
    const records = [];
    let cursor = '0';
    do {
      const step = await lua.walk(request({ cursor, budgetMs: 1000, pageCount: 1000 }));
      records.push(...step.decode().records);
      cursor = step.next;
    } while (cursor !== '0');
    const h = records.find((r) => r.key.toString() === 'h');
    assert.ok(h, 'h not read in a whole walk');
    assert.equal(h.type, 'hash');
    assert.equal(h.length, 2);
    assert.ok(h.ttlMs > 590_000 && h.ttlMs <= 600_000, `ttl ${h.ttlMs}`);
    assert.equal(h.bytes, Number(await client.call('MEMORY', 'USAGE', 'h', 'SAMPLES', '0')));
    const k = records.find((r) => r.key.toString() === 'k:1');
    assert.deepEqual(
      { ...k, key: k?.key.toString() },
      { key: 'k:1', type: 'string', ttlMs: -1, bytes: Number(await client.call('MEMORY', 'USAGE', 'k:1')), length: -1 },
    );
  });
});

describe('decodeRecords', () => {
  const header = (keyLength: number, code: number, pttl: number, bytes: number, length: number) => {
    const b = Buffer.alloc(29);
    b.writeUInt32LE(keyLength, 0);
    b[4] = code;
    b.writeDoubleLE(pttl, 5);
    b.writeDoubleLE(bytes, 13);
    b.writeDoubleLE(length, 21);
    return b;
  };

  it('decodes module types by name, binary keys as they are, and counts keys gone since SCAN', () => {
    const key = Buffer.from([0, 0x1b, 0x0a, 0xff]);
    const blob = Buffer.concat([
      header(key.length, 7, -1, 120, -1),
      Buffer.from([8]),
      Buffer.from('ReJSON-RL'.slice(0, 8)),
      key,
      header(0, 1, 5000, 48, -1),
      header(3, 0, -2, -1, -1),
      Buffer.from('old'),
    ]);
    const { records, vanished } = decodeRecords(blob);
    assert.equal(vanished, 1);
    assert.deepEqual(records, [
      { key, type: 'ReJSON-R', ttlMs: -1, bytes: 120, length: -1 },
      { key: Buffer.alloc(0), type: 'string', ttlMs: 5000, bytes: 48, length: -1 },
    ]);
  });
});
