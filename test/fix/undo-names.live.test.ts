/**
 * undo's script calls carry a bounded number of bytes of key names, like scan's and fix's: a
 * batch of long (but not heavy) names is split at NAME_BYTES_PER_CALL, not sent whole because
 * the undo pacer sized it in keys.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { HEAVY_NAME_BYTES, NAME_BYTES_PER_CALL } from '../../src/keyspace/walk/calls.js';
import { runCli } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';

/** Names of 20 KiB: light (under HEAVY_NAME_BYTES), and 40 of them are 800 KiB in all. */
const NAME = 20 * 1024;
const KEYS = 40;

describe('undo: names per script call', () => {
  let server: RedisServer;
  let admin: Redis;
  const dir = mkdtempSync(join(tmpdir(), 'keywarden-undo-names-'));
  const key = (i: number) => `long${i}:${'a'.repeat(NAME - 8)}`;

  before(async () => {
    server = await startRedis({ config: { 'slowlog-log-slower-than': 0, 'slowlog-max-len': 100_000 } });
    admin = server.client();
    for (let i = 0; i < KEYS; i++) await admin.set(key(i), 'v');
  });
  after(async () => {
    admin.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a batch of long names goes in calls of at most NAME_BYTES_PER_CALL of names, and every key is undone', async () => {
    assert.ok(NAME < HEAVY_NAME_BYTES, 'the names are light: they may go to the script');
    const journal = join(dir, 'fix.jsonl');
    const fix = await runCli(['fix', server.url, '--match', 'long*', '--ttl', '1h', '--apply', '--journal', journal, '--json']);
    assert.equal(fix.code, 0, fix.stderr);
    await admin.call('SLOWLOG', 'RESET');
    const undo = await runCli(['undo', server.url, '--journal', journal, '--json']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal((JSON.parse(undo.stdout) as { persisted: number }).persisted, KEYS);
    for (let i = 0; i < KEYS; i++) assert.equal(await admin.pttl(key(i)), -1, `long${i}: undone`);
    // The slowlog keeps a call's first arguments, cut to 128 bytes: the calls that carried our names.
    const log = (await admin.call('SLOWLOG', 'GET', '-1')) as Array<[number, number, number, string[], string, string]>;
    const calls = log.filter((e) => String(e[5]) === 'keywarden' && /^EVAL/i.test(String(e[3][0])) && e[3].some((a) => String(a).startsWith('long')));
    const most = Math.floor(NAME_BYTES_PER_CALL / NAME);
    assert.ok(calls.length >= Math.ceil(KEYS / most), `${calls.length} script calls for ${KEYS} names of ${NAME} bytes: at most ${most} names a call`);
  });
});
