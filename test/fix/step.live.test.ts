/**
 * fix's write steps against a real redis-server: fix-expire.lua (the one NX write loop) reports
 * each write, binary keys and per-key TTLs packed in one argument; the walk reads the next page
 * before it writes the one it has (one SCAN in flight, and at most the write before behind
 * it), journals each key before the call that writes it, writes every key read exactly once,
 * and only checkpoints cursors whose keys are all answered. Without EVAL, fix writes with
 * pipelined MULTI/EXEC.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { applyFix } from '../../src/fix/index.js';
import { JournalWriter, type JournalLine } from '../../src/fix/journal.js';
import { FixTally } from '../../src/fix/plan.js';
import { createTtlWriter } from '../../src/fix/writer.js';
import { WriteSteps } from '../../src/fix/write-steps.js';
import { HEAVY_NAME_BYTES, NAME_BYTES_PER_CALL } from '../../src/keyspace/walk/calls.js';
import { walkNode } from '../../src/keyspace/walk/node-walk.js';
import { luaScript } from '../../src/lua/index.js';
import { adHocPolicy } from '../../src/policy/index.js';
import { connectTarget } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { calls, fill, ttlCounts } from './support.js';

const DAY = 86_400_000;

describe('fix-expire.lua and the write steps', () => {
  let server: RedisServer;
  let client: Redis;
  let dir: string;

  before(async () => {
    server = await startRedis();
    client = server.client();
    dir = mkdtempSync(join(tmpdir(), 'keywarden-fix-step-'));
  });
  after(async () => {
    client.disconnect();
    await server.stop();
  });

  it('fix-expire.lua reports set (with bytes), refused (had a TTL) and gone; binary keys and per-key TTLs', async () => {
    const c = server.client({ db: 2 });
    await c.flushdb();
    await c.set('k:none', 'v');
    await c.set('k:ttl', 'v', 'EX', 100);
    const bin = Buffer.from([0x6b, 0x3a, 0x00, 0xff, 0x0a]);
    await c.set(bin, 'v');
    try {
      const keys = [Buffer.from('k:none'), Buffer.from('k:ttl'), Buffer.from('k:missing'), bin];
      const written = await createTtlWriter(c).write('NX', keys, [DAY, DAY, DAY, 2 * DAY], true);
      assert.deepEqual(written.status, ['set', 'refused', 'gone', 'set']);
      assert.ok(written.bytes[0] > 0 && written.bytes[3] > 0);
      assert.ok(written.serverMs !== undefined && written.serverMs > 0, 'the script times itself');
      assert.ok((await c.pttl('k:none')) > DAY - 60_000);
      assert.ok((await c.ttl('k:ttl')) <= 100);
      assert.ok((await c.pttl(bin)) > 2 * DAY - 60_000, 'per-key TTLs (jitter) and binary keys');
      assert.equal(await c.exists('k:missing'), 0);
    } finally {
      c.disconnect();
    }
  });

  it('no script call carries more than NAME_BYTES_PER_CALL of names; a name over HEAVY_NAME_BYTES goes alone, in a MULTI/EXEC', async () => {
    const c = server.client({ db: 6 });
    try {
      await c.flushdb();
      const light = Array.from({ length: 40 }, (_, i) => Buffer.concat([Buffer.from(`light${i}:`), Buffer.alloc(10 * 1024, 97)]));
      const heavy = [0, 1].map((i) => Buffer.concat([Buffer.from(`heavy${i}:`), Buffer.alloc(HEAVY_NAME_BYTES, 98)]));
      const keys = [heavy[0], ...light, heavy[1]];
      for (const k of keys) await c.set(k, 'v');
      await c.call('SCRIPT', 'LOAD', luaScript('fix-expire').source);
      await client.config('RESETSTAT');
      const written = await createTtlWriter(c).write(
        'NX',
        keys,
        keys.map(() => DAY),
        true,
      );
      assert.deepEqual(new Set(written.status), new Set(['set']));
      assert.ok(written.expiry.every((e) => e > Date.now() + DAY - 60_000));
      assert.ok(light.length * 10 * 1024 < 2 * NAME_BYTES_PER_CALL);
      assert.equal(await calls(client, 'evalsha'), 2, `${light.length * 10} KiB of light names in two script calls`);
      assert.equal(await calls(client, 'exec'), 2, 'each heavy name in a transaction of its own');
      for (const k of keys) assert.ok((await c.pttl(k)) > DAY - 60_000);
    } finally {
      c.disconnect();
    }
  });

  it('the next page is read before a page is written; every key journaled before the call that writes it, written exactly once; checkpoints only behind answered keys', async () => {
    const c = server.client({ db: 3 });
    try {
      await c.flushdb();
      await fill(c, 'session:', 20_000);
      await fill(c, 'other:', 2_000);
      // Cached, so every write is one EVALSHA (no NOSCRIPT and EVAL again, which the recording would count twice).
      await c.call('SCRIPT', 'LOAD', luaScript('fix-expire').source);
      const conn = server.client({ db: 3 });
      const path = join(dir, 'walk.jsonl');
      const journal = new JournalWriter(path, 1);
      const tally = new FixTally(adHocPolicy('session:*', '24h'));
      const rec = recording(conn, path);
      try {
        const target = await connectTarget(resolveTarget({ url: `${server.url}/3` }, {}));
        const steps = new WriteSteps(rec.proxy, { mode: 'standalone', tally, journal, measure: true, match: 'session:*', onUnmeasured: () => undefined });
        const plan = { node: target.nodes[0], dbs: [3], dbsize: 22_000, sizes: new Map([[3, 22_000]]) };
        const result = await walkNode(target, plan, steps, { signal: new AbortController().signal, onProgress: () => undefined, targetCallMs: 0.5 }).finally(
          () => target.close(),
        );
        assert.equal(result.complete, true);
      } finally {
        journal.close();
        conn.disconnect();
      }
      const { calls: sent } = rec;
      const scans = sent.filter((s) => s.kind === 'scan');
      const writes = sent.filter((s) => s.kind === 'write');
      assert.ok(scans.length > 10, `only ${scans.length} pages`);
      // The server never holds more of ours than the write it runs and one SCAN and one write behind it.
      assert.equal(rec.maxInFlight.scan, 1, 'more than one SCAN in flight');
      assert.ok(rec.maxInFlight.write <= 2, `${rec.maxInFlight.write} writes in flight`);
      const readBy = new Map<string, number>();
      const writtenBy = new Map<string, number>();
      sent.forEach((s, i) => {
        if (s.kind === 'scan') for (const k of s.keys) readBy.set(k, i);
        else
          for (const k of s.keys) {
            assert.equal(writtenBy.has(k), false, `${k} written twice`);
            writtenBy.set(k, i);
            assert.ok(s.journaledBeforeSend.has(k), `${k} sent before its set line was journaled`);
            // A page is written while the SCAN of the page after it is in flight (the last page: right after it was read).
            const page = readBy.get(k)!;
            const nextScan = scans.find((x) => sent.indexOf(x) > page);
            if (nextScan)
              assert.ok(s.scansInFlight.includes(sent.indexOf(nextScan)), `${k} written before the page after its own was asked for, or after it came back`);
            assert.ok(
              !sent.slice(page + 1, i).some((x) => x.kind === 'write' && x.keys.some((other) => readBy.get(other) === page)),
              `${k}'s page written in two calls`,
            );
          }
      });
      assert.equal(readBy.size, 20_000);
      assert.equal(writtenBy.size, 20_000);
      assert.equal(writes.length, scans.filter((x) => x.keys.some((k) => k.startsWith('session:'))).length, 'one write per page that holds keys to write');
      assert.deepEqual(await ttlCounts(c, 'session:*'), { withTtl: 20_000, without: 0 });
      assert.equal((await ttlCounts(c, 'other:*')).withTtl, 0);
      // A checkpoint cursor is journaled only once every key read before it is answered ('done').
      const lines = readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as JournalLine);
      const open = new Set<string>();
      let cps = 0;
      lines.forEach((line, at) => {
        if (line.t === 'set') open.add(line.b);
        else if (line.t === 'done') open.delete(line.b);
        else if (line.t === 'cp') {
          cps++;
          const reached = scans.findIndex((s) => s.next === line.cp.cursor);
          assert.ok(reached >= 0, `checkpoint ${line.cp.cursor} is no page's cursor`);
          for (const k of scans.slice(0, reached + 1).flatMap((s) => s.keys))
            if (writtenBy.has(k)) assert.ok(rec.answered(writtenBy.get(k)!, at), `checkpoint ${line.cp.cursor} journaled before ${k} was answered`);
        }
      });
      assert.equal(open.size, 0);
      assert.ok(cps > 5, `${cps} checkpoints`);
    } finally {
      c.disconnect();
    }
  });

  it('Ctrl-C stops reading but writes what is journaled; --resume then repeats no PEXPIRE', async () => {
    const c = server.client({ db: 5 });
    try {
      await c.flushdb();
      await fill(c, 'cache:', 30_000);
      await client.config('RESETSTAT');
      const journal = join(dir, 'abort.jsonl');
      const policy = adHocPolicy('cache:*', '1h');
      const stop = new AbortController();
      let writes = 0;
      const target = await connectTarget(resolveTarget({ url: `${server.url}/5` }, {}));
      try {
        const first = await applyFix(target, {
          policy,
          journal,
          signal: stop.signal,
          async beforeWrite() {
            if (++writes === 5) stop.abort();
          },
        });
        assert.equal(first.complete, false);
        assert.equal(first.interrupted, 'interrupted');
        assert.ok(first.totals.applied > 0 && first.totals.applied < 30_000);
        assert.equal(first.totals.applied, first.totals.keysScanned, 'every key read before the stop was written');
        const second = await applyFix(target, { policy, journal, resume: true });
        assert.equal(second.complete, true);
        assert.equal(first.totals.applied + second.totals.applied, 30_000);
      } finally {
        await target.close();
      }
      assert.equal(await calls(client, 'pexpire'), 30_000);
      assert.equal((await ttlCounts(c, 'cache:*')).without, 0);
    } finally {
      c.disconnect();
    }
  });

  it('writes with pipelined PEXPIRE … NX in MULTI/EXEC for a user who may not run scripts', async () => {
    const c = server.client({ db: 4 });
    await c.flushdb();
    try {
      await fill(c, 'tmp:', 3_000);
      await client.call('ACL', 'SETUSER', 'noscripts', 'on', '>pw', '~*', '&*', '+@all', '-@scripting');
      await client.config('RESETSTAT');
      const target = await connectTarget(resolveTarget({ url: `redis://noscripts:pw@127.0.0.1:${server.port}/4` }, {}));
      try {
        const report = await applyFix(target, { policy: adHocPolicy('tmp:*', '1h'), journal: join(dir, 'noscripts.jsonl') });
        assert.equal(report.totals.applied, 3_000);
        assert.equal(report.complete, true);
      } finally {
        await target.close();
      }
      assert.equal(await calls(client, 'pexpire'), 3_000);
      assert.equal(await calls(client, 'evalsha'), 0);
      assert.equal((await ttlCounts(c, 'tmp:*')).without, 0);
    } finally {
      c.disconnect();
    }
  });
});

interface RecordedCall {
  kind: 'scan' | 'write';
  /** Keys the SCAN read, or the write carried. */
  keys: string[];
  /** The SCAN's next cursor. */
  next?: string;
  /** Keys of the journal's `set` lines when the call was sent. */
  journaledBeforeSend: Set<string>;
  /** Journal line count when the reply arrived. */
  answeredAt?: number;
  /** The SCANs (indexes into the calls) in flight when this call was sent. */
  scansInFlight: number[];
}

/**
 * The step connection seen through a proxy that records, in the order they are sent, every
 * plain SCAN page it reads and every fix-expire.lua call that writes: the keys, what the
 * journal held when it was sent, when it was answered, and how many of each were in flight.
 */
function recording(conn: Redis, journalPath: string) {
  const calls: RecordedCall[] = [];
  const inFlight = { scan: 0, write: 0 };
  const maxInFlight = { scan: 0, write: 0 };
  const journalLines = () => readFileSync(journalPath, 'utf8').split('\n').filter(Boolean);
  const callBuffer = async (...args: Array<string | number | Buffer>): Promise<unknown> => {
    const kind = args[0] === 'SCAN' ? 'scan' : (args[0] === 'EVALSHA' || args[0] === 'EVAL') && args.length === 7 ? 'write' : undefined;
    if (!kind) return conn.callBuffer(...(args as [string]));
    const journaled = new Set(
      journalLines()
        .map((l) => JSON.parse(l) as JournalLine)
        .flatMap((l) => (l.t === 'set' ? l.keys.map((k) => Buffer.from(k, 'base64').toString()) : [])),
    );
    const scansInFlight = calls.flatMap((x, i) => (x.kind === 'scan' && x.answeredAt === undefined ? [i] : []));
    const call: RecordedCall = { kind, keys: [], journaledBeforeSend: journaled, scansInFlight };
    if (kind === 'write') {
      const [, , , , , ttl, blob] = args as [string, string, number, string, string, string, Buffer];
      assert.notEqual(ttl, '*', 'the recording reads uniform-TTL steps only');
      call.keys = unpack(blob).map(String);
    }
    calls.push(call);
    inFlight[kind]++;
    maxInFlight[kind] = Math.max(maxInFlight[kind], inFlight[kind]);
    try {
      const reply = (await conn.callBuffer(...(args as [string]))) as [Buffer, Buffer[]];
      if (kind === 'scan') {
        call.keys = reply[1].map(String);
        call.next = reply[0].toString();
      }
      return reply;
    } finally {
      call.answeredAt = journalLines().length;
      inFlight[kind]--;
    }
  };
  const proxy = new Proxy(conn, {
    get(target, prop) {
      if (prop === 'callBuffer') return callBuffer;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    proxy,
    calls,
    maxInFlight,
    /** Whether call `i` was answered before the journal's line number `at` was written. */
    answered(i: number, at: number): boolean {
      const a = calls[i].answeredAt;
      return a !== undefined && a <= at;
    },
  };
}

/** The keys of a uniform-TTL fix-expire.lua call ('<I4' length, then the key). */
function unpack(packed: Buffer): Buffer[] {
  const keys: Buffer[] = [];
  for (let o = 0; o < packed.length; o += 4 + packed.readUInt32LE(o)) keys.push(packed.subarray(o + 4, o + 4 + packed.readUInt32LE(o)));
  return keys;
}
