/**
 * The scanner's read path (steps/read-steps.ts): inspect-keys.lua inspects keys in order until
 * its time budget is spent, the inspector sends it the rest; once a node's first keys, read
 * with plain SCAN, showed only short names, the script reads the pages itself. Stretches of
 * one walk stop exactly at their ends, so stretches that touch read every key once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { Stretch } from '../../src/keyspace/walk/cursor.js';
import { createInspector, decodeRecords, type PageInspector } from '../../src/keyspace/steps/inspect.js';
import { NAME_BYTES_PER_CALL } from '../../src/keyspace/walk/calls.js';
import { Pacer } from '../../src/keyspace/walk/pace.js';
import type { KeyRecord } from '../../src/keyspace/record.js';
import type { WalkState } from '../../src/keyspace/walk/node-walk.js';
import { ReadSteps } from '../../src/keyspace/steps/read-steps.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const KEYS = 20_000;

describe('inspect-keys.lua and the read steps', () => {
  let server: RedisServer;
  let client: Redis;
  let lua: PageInspector;
  before(async () => {
    server = await startRedis();
    client = server.client();
    const p = client.pipeline();
    for (let i = 0; i < KEYS; i++) p.set(`k:${i}`, 'v');
    p.hset('h', 'a', '1', 'b', '2').pexpire('h', 600_000);
    await p.exec();
    lua = await createInspector(client);
    assert.equal(lua.method, 'lua');
  });
  after(async () => {
    client.disconnect();
    await server.stop();
  });

  /** Calls of inspect-keys.lua so far (EVALSHA, from INFO commandstats). */
  async function scriptCalls(): Promise<number> {
    const info = await client.info('commandstats');
    return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
  }

  /** Read `stretches` of db 0 with the read steps; every key read, in order. */
  async function read(options: { sample?: Stretch[]; lanes?: number; tableKeys?: number; inspector?: PageInspector }): Promise<string[]> {
    const keys: string[] = [];
    const steps = new ReadSteps(options.inspector ?? lua, {
      sample: options.sample,
      lanes: options.lanes,
      onBatch: (records: KeyRecord[]) => void keys.push(...records.map((r) => r.key.toString())),
    });
    const walk: WalkState = {
      address: `127.0.0.1:${server.port}`,
      conn: client,
      pacer: new Pacer({ initialBatch: 500, inFlight: options.lanes }),
      stopped: new AbortController().signal,
      checkpoint: { node: `127.0.0.1:${server.port}`, db: 0, cursor: '0', done: false },
      keysSeen: 0,
      stop() {},
    };
    const finished = await steps.walkDb(walk, { db: 0, tableKeys: options.tableKeys ?? KEYS + 1, resumed: false, progress() {} });
    assert.ok(finished, 'the walk reached its end');
    return keys;
  }

  it('inspects keys in order until its time budget is spent; the inspector sends the rest, every key once', async () => {
    const keys = Array.from({ length: 2000 }, (_, i) => Buffer.from(`k:${i}`));
    const before = await scriptCalls();
    const generous = await lua.inspect(keys, 1000);
    assert.equal((await scriptCalls()) - before, 1, 'one call with a budget it does not reach');
    assert.deepEqual(
      generous.records.map((r) => r.key.toString()),
      keys.map(String),
    );
    const mid = await scriptCalls();
    const starved = await lua.inspect(keys, 0);
    const calls = (await scriptCalls()) - mid;
    // With no budget a call stops at its first look at the clock, every 16 keys.
    assert.equal(calls, Math.ceil(2000 / 16), `${calls} calls`);
    assert.deepEqual(
      starved.records.map((r) => r.key.toString()),
      keys.map(String),
    );
    assert.ok(starved.serverMs !== undefined && starved.serverMs > 0, 'server time from the script');
  });

  it('carries at most NAME_BYTES_PER_CALL of key names in one call', async () => {
    const long = (i: number) => Buffer.concat([Buffer.from(`long${i}:`), Buffer.alloc(8000, 98)]);
    const p = client.pipeline();
    for (let i = 0; i < 100; i++) p.set(long(i), 'v');
    await p.exec();
    const before = await scriptCalls();
    const { records } = await lua.inspect(
      Array.from({ length: 100 }, (_, i) => long(i)),
      1000,
    );
    assert.equal(records.length, 100);
    assert.equal((await scriptCalls()) - before, Math.ceil((100 * 8006) / NAME_BYTES_PER_CALL) + 0, 'split by bytes of names');
    for (let i = 0; i < 100; i++) await client.pexpire(long(i), 1);
    await new Promise((r) => setTimeout(r, 20));
  });

  it('reads a whole table every key once, in one stretch or two lanes side by side', async () => {
    for (const lanes of [1, 2]) {
      const keys = await read({ lanes });
      assert.equal(keys.length, KEYS + 1, `${lanes} lane(s)`);
      assert.equal(new Set(keys).size, KEYS + 1, `${lanes} lane(s)`);
    }
  });

  it('stops at a stretch end and never returns a key past it: two halves of the walk read every key once', async () => {
    const a = await read({ sample: [{ start: 0, end: 0.5 }] });
    const b = await read({ sample: [{ start: 0.5, end: 1 }] });
    assert.ok(Math.abs(a.length - KEYS / 2) < KEYS * 0.05, `first half ${a.length}`);
    const all = [...a, ...b];
    assert.equal(all.length, KEYS + 1);
    assert.equal(new Set(all).size, KEYS + 1);
    // A table size guessed ten times too big: every last page overshoots, and is read again bucket by bucket.
    const wrong = await read({ sample: [{ start: 0, end: 0.5 }], tableKeys: KEYS * 10 });
    assert.deepEqual(wrong.sort(), a.sort());
  });

  it('reads pages inside the script once the first keys showed only short names; a long name sends the node back to plain SCAN', async () => {
    /** The inspector, counting the keys of the pages the script read itself. */
    const counting = () => {
      const seen = { scriptKeys: 0 };
      const inspector: PageInspector = {
        method: lua.method,
        measuresMemory: lua.measuresMemory,
        inspect: (keys, budgetMs) => lua.inspect(keys, budgetMs),
        step: async (keys, budgetMs, next) => {
          const done = await lua.step!(keys, budgetMs, next);
          seen.scriptKeys += done.page?.found ?? 0;
          return done;
        },
      };
      return { seen, inspector };
    };
    const light = counting();
    const keys = await read({ lanes: 2, inspector: light.inspector });
    assert.equal(new Set(keys).size, KEYS + 1);
    assert.equal(keys.length, KEYS + 1);
    assert.ok(light.seen.scriptKeys > KEYS * 0.8, `${light.seen.scriptKeys} of ${KEYS + 1} keys from pages the script read`);
    // Out of budget 16 keys into a page: the rest of it comes back as names, for the next call.
    const cut = await lua.step!([], 0, { cursor: '0', count: 200, longest: 1024, bytes: 1 << 20, most: 0 });
    assert.ok(cut.page && cut.page.found > 100, 'a page was read');
    assert.equal(cut.page.done, 16);
    const rest = cut.page.left();
    assert.equal(rest.length, cut.page.found - 16);
    const first = cut.page.inspected().records.map((r) => r.key.toString());
    const then = await lua.step!(rest, 1000);
    assert.equal(then.done, rest.length);
    const all = [...first, ...then.sent(rest).records.map((r) => r.key.toString())];
    assert.equal(new Set(all).size, cut.page.found);

    // A page with a name over the script's limit comes back unread.
    const dropped = await lua.step!([], 1000, { cursor: '0', count: 1000, longest: 3, bytes: 1 << 20, most: 0 });
    assert.equal(dropped.heavy, true);
    assert.equal(dropped.page, undefined);

    // 1% of names are 2 KiB long: the first keys, read with plain SCAN, show them.
    const long = (i: number) => Buffer.concat([Buffer.from(`long${i}:`), Buffer.alloc(2048, 99)]);
    const p = client.pipeline();
    for (let i = 0; i < 200; i++) p.set(long(i), 'v');
    await p.exec();
    try {
      const heavy = counting();
      const all = await read({ inspector: heavy.inspector, tableKeys: KEYS + 201 });
      assert.equal(new Set(all).size, KEYS + 201);
      assert.equal(all.length, KEYS + 201);
      assert.equal(heavy.seen.scriptKeys, 0, 'no page read inside the script');
    } finally {
      for (let i = 0; i < 200; i++) await client.pexpire(long(i), 1);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('packs type, TTL, memory and length per key', async () => {
    const { records, vanished } = await lua.inspect([Buffer.from('h'), Buffer.from('k:1'), Buffer.from('no-such-key')]);
    assert.equal(vanished, 1, 'a key gone since SCAN is counted, not reported');
    const [h, k] = records;
    assert.equal(h.key.toString(), 'h');
    assert.equal(h.type, 'hash');
    assert.equal(h.length, 2);
    assert.ok(h.ttlMs > 590_000 && h.ttlMs <= 600_000, `ttl ${h.ttlMs}`);
    assert.equal(h.bytes, Number(await client.call('MEMORY', 'USAGE', 'h', 'SAMPLES', '0')));
    assert.deepEqual(
      { ...k, key: k?.key.toString() },
      { key: 'k:1', type: 'string', ttlMs: -1, bytes: Number(await client.call('MEMORY', 'USAGE', 'k:1')), length: -1 },
    );
  });
});

describe('decodeRecords', () => {
  const header = (code: number, pttl: number, bytes: number, length: number) => {
    const b = Buffer.alloc(25);
    b[0] = code;
    b.writeDoubleLE(pttl, 1);
    b.writeDoubleLE(bytes, 9);
    b.writeDoubleLE(length, 17);
    return b;
  };

  it('decodes module types by name, binary keys as they are, and counts keys gone since SCAN', () => {
    const key = Buffer.from([0, 0x1b, 0x0a, 0xff]);
    const blob = Buffer.concat([
      header(7, -1, 120, -1),
      Buffer.from([8]),
      Buffer.from('ReJSON-RL'.slice(0, 8)),
      header(1, 5000, 48, -1),
      header(0, -2, -1, -1),
    ]);
    const records: Parameters<typeof decodeRecords>[2] = [];
    const vanished = decodeRecords(blob, [key, Buffer.alloc(0), Buffer.from('old')], records);
    assert.equal(vanished, 1);
    assert.deepEqual(records, [
      { key, type: 'ReJSON-R', ttlMs: -1, bytes: 120, length: -1 },
      { key: Buffer.alloc(0), type: 'string', ttlMs: 5000, bytes: 48, length: -1 },
    ]);
  });

  it('decodes page records with their names inline: module types, binary keys, keys gone', () => {
    const key = Buffer.from([0, 0x1b, 0x0a, 0xff]);
    const named = (k: Buffer, head: Buffer, module = Buffer.alloc(0)) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(k.length);
      return Buffer.concat([length, head, module, k]);
    };
    const blob = Buffer.concat([
      named(key, header(7, -1, 120, -1), Buffer.concat([Buffer.from([8]), Buffer.from('ReJSON-R')])),
      named(Buffer.alloc(0), header(1, 5000, 48, -1)),
      named(Buffer.from('old'), header(0, -2, -1, -1)),
      named(Buffer.from('h'), header(5, -1, 90, 2)),
    ]);
    const records: Parameters<typeof decodeRecords>[2] = [];
    assert.equal(decodeRecords(blob, undefined, records), 1);
    assert.deepEqual(records, [
      { key, type: 'ReJSON-R', ttlMs: -1, bytes: 120, length: -1 },
      { key: Buffer.alloc(0), type: 'string', ttlMs: 5000, bytes: 48, length: -1 },
      { key: Buffer.from('h'), type: 'hash', ttlMs: -1, bytes: 90, length: 2 },
    ]);
  });
});
