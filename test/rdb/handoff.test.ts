/**
 * One dump on two threads (parallel.ts `auditDumpFileThreaded`, handoff.ts): the key records
 * survive the handoff byte for byte, and the report is the one the single-threaded audit
 * gives, on a dump written by a real redis-server (with a policy, --match, --type, --now and
 * a corrupt copy too).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import type { ScanReport } from '../../src/keyspace/report.js';
import { parsePolicy } from '../../src/policy/index.js';
import { auditDumpFile, type AuditDumpOptions } from '../../src/rdb/audit.js';
import { RdbFormatError } from '../../src/rdb/errors.js';
import { BATCH_BYTES, CONTROL_BYTES, HandoffWriter, MAX_IN_FLIGHT, takeBatches } from '../../src/rdb/handoff.js';
import { auditDumpFileThreaded, idleCore } from '../../src/rdb/parallel.js';
import { rng } from './dataset.js';
import { startRedis, type RedisServer } from '../support/redis.js';

interface Rec {
  key: Buffer;
  db: number;
  type: string;
  ttlMs: number;
  bytes: number;
  length: number;
  now: number;
}

describe('handoff', () => {
  test('records cross in batches byte for byte: binary keys, a key bigger than a batch, every type, odd figures', () => {
    const random = rng(17);
    const types = ['string', 'hash', 'list', 'set', 'zset', 'stream', 'ReJSON-RL', 'module-x'];
    const sent: Rec[] = [];
    for (let i = 0; i < 3000; i++) {
      const len = i === 1000 ? BATCH_BYTES + 12_345 : i % 97 === 0 ? 0 : Math.floor(random() * (i % 10 === 0 ? 300 : 40));
      const key = Buffer.alloc(len);
      for (let j = 0; j < len; j++) key[j] = Math.floor(random() * 256);
      sent.push({
        key,
        db: i % 7 === 0 ? 15 : 0,
        type: types[Math.floor(random() * types.length)],
        ttlMs: i % 3 === 0 ? -1 : Math.floor(random() * 2 ** 40),
        bytes: i === 5 ? 2 ** 52 + 1 : Math.floor(random() * 1e9),
        length: i % 11 === 0 ? -1 : Math.floor(random() * 1e7),
        now: 1_700_000_000_123,
      });
    }
    const { port1, port2 } = new MessageChannel();
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const writer = new HandoffWriter(port1, control);
    // Each key sits inside a bigger buffer, as in the dump reader's window.
    const window = Buffer.alloc(BATCH_BYTES * 2, 0xee);
    for (const r of sent) {
      r.key.copy(window, 7);
      writer.addKey(window, 7, 7 + r.key.length, r.db, 'node', r.type, r.ttlMs, r.bytes, r.length, r.now);
    }
    writer.end();
    const got: Rec[] = [];
    takeBatches(port2, control, (key, start, end, db, type, ttlMs, bytes, length, at) => {
      got.push({ key: Buffer.from(key.subarray(start, end)), db, type, ttlMs, bytes, length, now: at });
    });
    assert.equal(got.length, sent.length);
    for (let i = 0; i < sent.length; i++) assert.deepEqual(got[i], sent[i], `record ${i}`);
    port1.close();
    port2.close();
    assert.ok(sent.length * 40 < BATCH_BYTES * MAX_IN_FLIGHT, 'this test posts everything before taking it: it stays under the in-flight cap');
  });

  test('idleCore: runnable threads of /proc/loadavg below the cores', () => {
    assert.equal(
      idleCore(2, () => '0.52 0.58 0.59 1/345 12345\n'),
      true,
    );
    assert.equal(
      idleCore(2, () => '0.52 0.58 0.59 2/345 12345\n'),
      false,
    );
    assert.equal(
      idleCore(8, () => '3.10 2.00 1.00 5/900 12345\n'),
      true,
    );
    assert.equal(
      idleCore(1, () => '0.00 0.00 0.00 1/100 1\n'),
      false,
    );
    assert.equal(
      idleCore(4, () => undefined),
      false,
    );
    assert.equal(
      idleCore(4, () => 'garbage'),
      false,
    );
  });
});

let server: RedisServer;
let work: string;
let dump: string;

before(async () => {
  server = await startRedis();
  work = mkdtempSync(join(tmpdir(), 'keywarden-handoff-'));
  dump = join(work, 'dump.rdb');
  const c = server.client();
  try {
    const random = rng(99);
    // Over MAX_IN_FLIGHT batches of keys, so the reader waits on the aggregating thread.
    for (let chunk = 0; chunk < 12; chunk++) {
      const p = c.pipeline();
      for (let i = chunk * 10_000; i < (chunk + 1) * 10_000; i++) {
        const r = random();
        if (r < 0.4) p.set(`session:${Math.floor(random() * 1e12).toString(16)}`, 'x'.repeat(i % 50));
        else if (r < 0.6) p.set(`cache:page:${i}`, `v${i}`, 'PX', 1 + (i % 5) * 30_000 + 3_600_000 * (i % 3));
        else if (r < 0.7) p.hset(`user:${i}:profile`, 'name', `n${i}`, 'mail', `u${i}@example.com`);
        else if (r < 0.75) p.rpush(`queue:${i % 50}`, `job-${i}`);
        else if (r < 0.8) p.sadd(`tags:${String.fromCharCode(97 + (i % 26))}${i % 400}`, `t${i % 9}`);
        else if (r < 0.85) p.zadd(`board:${i % 30}`, i, `m${i}`);
        else if (r < 0.9) p.set(Buffer.from([0xff, 0x00, i & 0xff, (i >> 8) & 0xff, 0x1b, 0x3a]), 'bin');
        else if (r < 0.95) p.set(`ratelimit:api:${i}`, '1', 'EX', 60 + (i % 7));
        else p.set(`blob:${'k'.repeat(100 + (i % 300))}:${i}`, 'y', 'EX', 86_400 * (1 + (i % 10)));
      }
      await p.exec();
    }
    await c.set('big:one', 'z'.repeat(200_000));
    await c.select(3);
    await c.set('other:db:key', '1');
    await c.save();
  } finally {
    c.disconnect();
  }
  copyFileSync(join(server.dir, 'dump.rdb'), dump);
});

after(async () => {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The report without its timings, which differ from run to run. */
function comparable(r: ScanReport): unknown {
  const copy = JSON.parse(JSON.stringify(r)) as ScanReport;
  delete (copy.coverage as { durationMs?: number }).durationMs;
  delete (copy.coverage as { keysPerSecond?: number }).keysPerSecond;
  return copy;
}

async function same(options: AuditDumpOptions): Promise<ScanReport> {
  const one = auditDumpFile(dump, options);
  const two = await auditDumpFileThreaded(dump, options);
  assert.deepEqual(comparable(two), comparable(one));
  return one;
}

test('two threads: the same report as one', async () => {
  const r = await same({});
  assert.ok(r.totals.keys > 100_000);
  assert.ok(r.patterns.some((p) => p.pattern === 'session:*'));
  assert.ok(r.expiryClusters.length > 0);
  assert.deepEqual(r.target.nodes[0].dbs, [0, 3]);
});

test('two threads: the same report with a policy, --top, --max-patterns and an expiry cluster threshold', async () => {
  const policy = parsePolicy('rules:\n  - match: "session:*"\n    ttl: 24h\n  - match: "user:*"\n    role: durable\n', 'keywarden.yml');
  const r = await same({ policy, top: 3, maxPatterns: 4, clusterMin: 2 });
  assert.ok(r.policy && r.policy.violations > 0);
  assert.equal(r.bigKeys.length, 3);
});

test('two threads: the same report with --match, --type and --now (keys expired at that time)', async () => {
  await same({ match: 'cache:*' });
  await same({ type: 'hash' });
  const later = await same({ now: Date.now() + 2 * 3_600_000 });
  assert.ok((later.coverage.expired?.keys ?? 0) > 0);
});

test('two threads: a corrupt dump fails as on one thread, with the byte offset', async () => {
  const bytes = readFileSync(dump);
  const cut = join(work, 'cut.rdb');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
  const one = (() => {
    try {
      auditDumpFile(cut);
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  assert.ok(one instanceof RdbFormatError);
  await assert.rejects(auditDumpFileThreaded(cut), (err: unknown) => err instanceof RdbFormatError && err.message === one.message);
});
