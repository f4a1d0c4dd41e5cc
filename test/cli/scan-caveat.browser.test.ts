/**
 * A sampled scan says, in every format (table, Markdown, HTML in a real browser, JSON), that its
 * big keys and expiry clusters come from the sample and may miss single large keys; a full scan
 * does not. Big keys are marked at the one shared threshold.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BIG_KEY } from '../../src/keyspace/thresholds.js';
import { launchBrowser } from '../support/browser.js';
import { runCli } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const CAVEAT =
  /Big keys and expiry clusters come from the sample \([\d,]+ of 30,002 keys\) and may miss single large keys: a scan without --sample reads every key\./;

describe('the sample caveat next to big keys and expiry clusters', () => {
  let server: RedisServer;
  const dir = mkdtempSync(join(tmpdir(), 'kw-caveat-'));
  before(async () => {
    server = await startRedis();
    const c = server.client();
    // More than 20,000 keys: below that a sample reads the whole table anyway.
    await c.call('DEBUG', 'POPULATE', '30000', 'session', '100');
    await c.setrange('blob:upload:7', 12 * 1024 * 1024 - 1, 'x');
    await c.zadd('leaderboard:global', ...Array.from({ length: 2000 }, (_, i) => [i, `player:${i}`]).flat());
    c.disconnect();
  });
  after(() => server.stop());

  it('table, Markdown and JSON of a sampled scan carry it; a full scan does not', async () => {
    const table = await runCli(['scan', server.url, '--sample', '10%']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('Biggest keys'));
    assert.ok(at >= 0, table.stdout);
    assert.match(lines[at + 1], CAVEAT, 'right under the heading');

    const md = await runCli(['scan', server.url, '--sample', '10%', '--format', 'markdown']);
    const mdLines = md.stdout.split('\n');
    const mdAt = mdLines.indexOf('## Biggest keys');
    assert.ok(
      mdLines.slice(mdAt, mdAt + 5).some((l) => l.startsWith('> ') && CAVEAT.test(l)),
      md.stdout,
    );

    const json = JSON.parse((await runCli(['scan', server.url, '--sample', '10%', '--json'])).stdout);
    assert.equal(json.coverage.sampled, true);
    assert.match(json.coverage.caveat, CAVEAT);
    assert.equal(json.thresholds.bigKeyBytes, BIG_KEY.bytes);

    const full = await runCli(['scan', server.url]);
    assert.doesNotMatch(full.stdout, /come from the sample/);
    assert.match(full.stdout, /^ {2}BIG +1\d\.\d MiB +string .* blob:upload:7/m, 'the 12 MB string is marked big');
    assert.match(full.stdout, /^ {6} *\d[\d.]* KiB +zset .* leaderboard:global/m, 'a small zset is listed, not marked');
    const fullJson = JSON.parse((await runCli(['scan', server.url, '--json'])).stdout);
    assert.equal(fullJson.coverage.caveat, undefined);
  });

  it('the HTML report shows it next to both lists in a real browser', async () => {
    const file = join(dir, 'sampled.html');
    const res = await runCli(['scan', server.url, '--sample', '10%', '--format', 'html', '--out', file]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(readFileSync(file, 'utf8').length > 0);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(file).href);
      await page.waitForFunction(() => document.querySelectorAll('#patterns tr').length > 1);
      const notes = await page.evaluate(() =>
        ['bigkeysNote', 'clustersNote'].map((id) => (document.getElementById(id)?.nextElementSibling as HTMLElement | null)?.textContent ?? ''),
      );
      for (const note of notes) assert.match(note, CAVEAT);
      assert.match((await page.locator('#bigkeysNote').textContent()) ?? '', /^Big: 10.0 MiB or 1,000,000 elements or more\.$/);
    } finally {
      await browser.close();
    }
  });
});
