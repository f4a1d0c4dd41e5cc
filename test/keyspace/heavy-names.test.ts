/**
 * No server call over the budget, whatever the key names: on a keyspace holding keys with
 * 1 MB names, scan, doctor's sample, watch, fix and undo never make a call that touches more
 * than one such name, and never hand one to a script. Every command is logged (slowlog at 0
 * µs), and each of our calls is compared with the cheapest thing that can be done with a 1 MB
 * name — one PTTL of it, measured in the same run: no call may exceed 5 ms, or, where a
 * single command on such a name is itself slow (a loaded machine), 20 of those PTTLs. Before
 * the byte budget, one call of the scanner's script (which then read its SCAN pages itself)
 * read a page of such names and blocked the server 43–116 ms (100–300 PTTLs); with the byte
 * budget, the first such call to meet one still took 2–30 ms, until pages moved out of Lua.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { Stretch } from '../../src/keyspace/walk/cursor.js';
import { createInspector } from '../../src/keyspace/steps/inspect.js';
import { Pacer } from '../../src/keyspace/walk/pace.js';
import type { KeyRecord } from '../../src/keyspace/record.js';
import type { WalkState } from '../../src/keyspace/walk/node-walk.js';
import { ReadSteps } from '../../src/keyspace/steps/read-steps.js';
import { runCli } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { resolveTarget } from '../../src/target/spec.js';
import { silentLogger, startWatch } from '../../src/watch/index.js';

const HEAVY = 30;
const LIGHT = 3000;
const NAME = 1 << 20;
const BUDGET_US = 5000;
/** A call reading one heavy name, in PTTLs of it (see `check`). */
const PER_HEAVY_CALL = 20;
/** Runs of one check before it fails (see `check`). */
const ATTEMPTS = 2;

interface Entry {
  args: string;
  micros: number;
  command: string;
  client: string;
}

describe('heavy key names: no call over the budget in scan, doctor, watch, fix and undo', () => {
  let server: RedisServer;
  let admin: Redis;
  before(async () => {
    server = await startRedis({ config: { 'slowlog-log-slower-than': 0, 'slowlog-max-len': 1_000_000 } });
    admin = server.client();
    for (let i = 0; i < HEAVY; i++) await admin.set(Buffer.concat([Buffer.from(`big${i}:`), Buffer.alloc(NAME, 97)]), 'v');
    const p = admin.pipeline();
    for (let i = 0; i < LIGHT; i++) p.set(`small:${i}`, 'x');
    await p.exec();
  });
  after(async () => {
    admin.disconnect();
    await server.stop();
  });

  async function slowlog(): Promise<Entry[]> {
    const raw = (await admin.call('SLOWLOG', 'GET', '-1')) as Array<[number, number, number, string[], string, string]>;
    return raw.map((e) => ({
      micros: Number(e[2]),
      command: String(e[3][0]).toUpperCase(),
      client: String(e[5]),
      args: e[3]
        .slice(1, 8)
        .map((a) => String(a).slice(0, 20))
        .join(' '),
    }));
  }

  /** The slowest of a few PTTLs of a 1 MB name, in this run: the floor for any call touching one. */
  async function floor(): Promise<number> {
    await admin.call('SLOWLOG', 'RESET');
    for (let i = 0; i < 5; i++) await admin.pttl(Buffer.concat([Buffer.from(`big${i}:`), Buffer.alloc(NAME, 97)]));
    return Math.max(...(await slowlog()).filter((e) => e.command === 'PTTL').map((e) => e.micros));
  }

  /**
   * Run `run` and compare each of our calls in the slowlog with the limit. A shared 2-core
   * host now and then deschedules the server mid-command (a single PTTL of 50 ms): a run with
   * calls over the limit is run once more (after `reset`), and fails only if that run has
   * some too. A call reading a page of heavy names is over on every run.
   */
  async function check(
    what: string,
    run: () => Promise<void>,
    allowed: number,
    commands = ['EVALSHA', 'EVAL', 'SCAN'],
    reset?: () => Promise<void>,
  ): Promise<void> {
    const failures: string[] = [];
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await reset?.();
      const reference = await floor();
      await admin.call('SLOWLOG', 'RESET');
      await run();
      const ours = (await slowlog()).filter((e) => e.client === 'keywarden' && commands.includes(e.command));
      assert.ok(ours.length > 0, `${what}: no scanning call was logged`);
      // One heavy name per call at most: a call that reads one 1 MB name copies or hashes it a
      // few times (SCAN's reply, the expires table, the reply back) where a PTTL hashes it once,
      // so its floor is several PTTLs; a page of such names (what a call did before the byte
      // budget) is a hundred or more.
      const limit = Math.max(BUDGET_US, PER_HEAVY_CALL * reference);
      const over = ours.filter((e) => e.micros > limit);
      if (over.length <= allowed) return;
      const shown = over.map((e) => `${e.micros} µs: ${e.command} ${e.args}`).join('; ');
      failures.push(`${over.length} calls over ${limit} µs (one PTTL of a 1 MB name: ${reference} µs): ${shown}`);
    }
    assert.fail(`${what}: every run had calls over the limit: ${failures.join(' | ')}`);
  }

  it('scan: no call over the budget, every key read', async () => {
    await check(
      'scan',
      async () => {
        const r = await runCli(['scan', server.url, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const report = JSON.parse(r.stdout) as { totals: { keys: number } };
        assert.equal(report.totals.keys, HEAVY + LIGHT, 'every key, heavy names included, was read');
      },
      0,
    );
  });

  it("doctor's sample: no call over the budget", async () => {
    await check(
      'doctor',
      async () => {
        const r = await runCli(['doctor', server.url, '--json']);
        assert.ok([0, 1].includes(r.code), r.stderr);
      },
      0,
    );
  });

  it('watch: no call over the budget', async () => {
    await check(
      'watch',
      async () => {
        const w = await startWatch({
          target: resolveTarget({ url: server.url }, {}),
          listen: { host: '127.0.0.1', port: 0 },
          intervalMs: 200,
          infoIntervalMs: 1000,
          checkpointIntervalMs: 1000,
          statePath: false,
          doctorIntervalMs: false,
          logger: silentLogger,
        });
        try {
          const deadline = Date.now() + 30_000;
          for (;;) {
            const metrics = await (await fetch(`${w.url}/metrics`)).text();
            if (/keywarden_scan_passes_total(\{[^}]*\})? [1-9]/.test(metrics)) break;
            if (Date.now() > deadline) throw new Error('watch finished no pass in 30 s');
            await new Promise((r) => setTimeout(r, 200));
          }
        } finally {
          await w.stop();
        }
      },
      0,
    );
  });

  it('fix --apply: no call over the budget, every key written and journaled, undo takes it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keywarden-heavy-'));
    const heavyKey = (i: number) => Buffer.concat([Buffer.from(`big${i}:`), Buffer.alloc(NAME, 97)]);
    let runs = 0;
    // Undo PERSISTs only keys whose PEXPIRETIME is still what the journal recorded: the heavy
    // keys' expiries were journaled like the others. (Its own calls are checked below.)
    const undo = async () => {
      const u = await runCli(['undo', server.url, '--journal', join(dir, `fix${runs}.jsonl`), '--json']);
      assert.equal(u.code, 0, u.stderr);
      for (let i = 0; i < HEAVY; i++) assert.equal(await admin.pttl(heavyKey(i)), -1, `big${i}: undone`);
      assert.equal(await admin.pttl('small:7'), -1, 'a light key undone');
    };
    // Once keys have TTLs, every lookup of a name also hashes it in the expires table: a
    // PEXPIRE of a 1 MB name costs about four PTTLs of it on a server without TTLs. The floor
    // is measured with a TTL in the table, as fix leaves it.
    await admin.set('heavy-names:anchor', 'x', 'PX', 3_600_000);
    try {
      // Every command of ours counts here: the writes of heavy names are single commands and transactions.
      await check(
        'fix',
        async () => {
          runs++;
          const r = await runCli(['fix', server.url, '--match', '*', '--ttl', '1h', '--apply', '--journal', join(dir, `fix${runs}.jsonl`), '--json']);
          assert.equal(r.code, 0, r.stderr);
          for (let i = 0; i < HEAVY; i++) assert.ok((await admin.pttl(heavyKey(i))) > 3_500_000, `big${i}: has fix's TTL`);
          assert.ok((await admin.pttl('small:7')) > 3_500_000, "a light key has fix's TTL");
        },
        0,
        ['EVALSHA', 'EVAL', 'SCAN', 'EXEC', 'PEXPIRE', 'PEXPIRETIME', 'MEMORY', 'EXISTS'],
        undo,
      );
      await undo();
    } finally {
      await admin.pexpire('heavy-names:anchor', 1);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('undo: no call over the budget, heavy names undone one WATCH/MULTI each, outside any script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keywarden-heavy-undo-'));
    const heavyKey = (i: number) => Buffer.concat([Buffer.from(`big${i}:`), Buffer.alloc(NAME, 97)]);
    let runs = 0;
    const fix = async () => {
      runs++;
      const r = await runCli(['fix', server.url, '--match', '*', '--ttl', '1h', '--apply', '--journal', join(dir, `fix${runs}.jsonl`), '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok((await admin.pttl(heavyKey(0))) > 3_500_000, "big0: has fix's TTL");
    };
    await admin.set('heavy-names:anchor', 'x', 'PX', 3_600_000);
    try {
      await fix();
      await check(
        'undo',
        async () => {
          const u = await runCli(['undo', server.url, '--journal', join(dir, `fix${runs}.jsonl`), '--json']);
          assert.equal(u.code, 0, u.stderr);
          const report = JSON.parse(u.stdout) as { persisted: number };
          assert.equal(report.persisted, HEAVY + LIGHT + 1 - 1, 'every key fix gave a TTL (the anchor had its own)');
          for (let i = 0; i < HEAVY; i++) assert.equal(await admin.pttl(heavyKey(i)), -1, `big${i}: undone`);
          assert.equal(await admin.pttl('small:7'), -1, 'a light key undone');
          // On a loaded host the limit above grows with the PTTL floor; whatever the load, no
          // script is handed a heavy name (the slowlog shortens such an argument: "… (N more bytes)").
          const raw = (await admin.call('SLOWLOG', 'GET', '-1')) as Array<[number, number, number, Buffer[] | string[], string, string]>;
          const scripted = raw.filter(
            (e) => String(e[5]) === 'keywarden' && /^EVAL/i.test(String(e[3][0])) && e[3].slice(2).some((a) => /more bytes\)$/.test(String(a))),
          );
          assert.equal(
            scripted.length,
            0,
            `${scripted.length} script calls were handed a heavy name: ${scripted
              .map((e) =>
                e[3]
                  .slice(0, 6)
                  .map((a) => String(a).slice(0, 40))
                  .join(' '),
              )
              .join(' | ')}`,
          );
        },
        0,
        ['EVALSHA', 'EVAL', 'WATCH', 'EXEC', 'PEXPIRETIME', 'PERSIST', 'MULTI'],
        fix,
      );
    } finally {
      await admin.pexpire('heavy-names:anchor', 1);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the read steps read every key once, whole and in two stretches, and never hand a heavy name to a script', async () => {
    const client = server.client();
    try {
      const inspector = await createInspector(client);
      assert.equal(inspector.method, 'lua');
      const read = async (sample: Stretch[]) => {
        const keys: string[] = [];
        const steps = new ReadSteps(inspector, {
          sample,
          onBatch: (records: KeyRecord[]) =>
            void keys.push(...records.map((r) => (r.key.length > 64 ? `${r.key.subarray(0, 8).toString()}…${r.key.length}` : r.key.toString()))),
        });
        const walk: WalkState = {
          address: 'heavy',
          conn: client,
          pacer: new Pacer(),
          stopped: new AbortController().signal,
          checkpoint: { node: 'heavy', db: 0, cursor: '0', done: false },
          keysSeen: 0,
          stop() {},
        };
        assert.ok(await steps.walkDb(walk, { db: 0, tableKeys: HEAVY + LIGHT, resumed: false, progress() {} }));
        return keys;
      };
      await admin.call('SLOWLOG', 'RESET');
      const whole = await read([{ start: 0, end: 1 }]);
      assert.equal(whole.length, HEAVY + LIGHT);
      assert.equal(new Set(whole).size, HEAVY + LIGHT);
      const first = await read([{ start: 0, end: 0.5 }]);
      const second = await read([{ start: 0.5, end: 1 }]);
      assert.equal(first.length + second.length, HEAVY + LIGHT, 'the stretches add up to the whole');
      assert.equal(new Set([...first, ...second]).size, HEAVY + LIGHT, 'no key in both stretches');
      // The slowlog shortens a long argument to "… (N more bytes)": no script call carried a heavy name.
      const raw = (await admin.call('SLOWLOG', 'GET', '-1')) as Array<[number, number, number, string[], string, string]>;
      const scripted = raw.filter(
        (e) =>
          /^EVAL/i.test(String(e[3][0])) &&
          e[3].slice(2).some((a) => /more bytes\)$/.test(String(a)) && Number(/(\d+) more bytes/.exec(String(a))?.[1]) > 600_000),
      );
      assert.equal(scripted.length, 0, `${scripted.length} script calls carried a heavy name`);
    } finally {
      client.disconnect();
    }
  });
});
