import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countOf } from '../../src/cli/render/format.js';
import { runCli } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';

describe('outputs read right: singular for one', () => {
  it('countOf', () => {
    assert.equal(countOf(1, 'key'), '1 key');
    assert.equal(countOf(0, 'key'), '0 keys');
    assert.equal(countOf(1500, 'pattern'), '1,500 patterns');
  });

  describe('live', () => {
    let server: RedisServer;
    before(async () => {
      server = await startRedis();
      const c = server.client();
      await c.set('session:1', 'v');
      c.disconnect();
    });
    after(() => server.stop());

    it('a one-key server: "1 key", "1 pattern", "1 node" in table and markdown', async () => {
      const table = await runCli(['scan', server.url]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^1 key, [\d.]+ \w+ in 1 pattern; 100% of bytes \(1 key\) have no TTL/m);
      assert.match(table.stdout, /^1 key read in /m);
      const md = await runCli(['scan', server.url, '--format', 'markdown']);
      assert.match(md.stdout, /standalone, Redis [\d.]+, 1 node\. 1 key, /);
      assert.doesNotMatch(table.stdout + md.stdout, /\b1 (keys|patterns|nodes)\b|node\(s\)/);
    });

    it('scan and doctor take the same --format names (table and text are one)', async () => {
      const scanText = await runCli(['scan', server.url, '--format', 'text']);
      assert.equal(scanText.code, 0, scanText.stderr);
      assert.match(scanText.stdout, /^1 key, /m);
      const doctorTable = await runCli(['doctor', server.url, '--format', 'table', '--fail-on', 'none']);
      assert.equal(doctorTable.code, 0, doctorTable.stderr);
      assert.match(doctorTable.stdout, /^keywarden doctor/m);
      for (const format of ['markdown', 'json']) {
        assert.equal((await runCli(['scan', server.url, '--format', format])).code, 0, `scan --format ${format}`);
        assert.equal((await runCli(['doctor', server.url, '--format', format, '--fail-on', 'none'])).code, 0, `doctor --format ${format}`);
      }
    });
  });
});
