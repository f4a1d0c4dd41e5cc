import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { renderScanHtml } from '../../src/cli/render/scan-html.js';
import { scanKeyspace } from '../../src/keyspace/scan.js';
import { connectTarget } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { launchBrowser } from '../support/browser.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const XSS = 'xss:<img src=x onerror=alert(1)>';

describe('HTML scan report in a real browser', () => {
  let server: RedisServer;
  let file: string;
  before(async () => {
    server = await startRedis();
    const c = server.client();
    const p = c.pipeline();
    for (let i = 0; i < 500; i++) p.set(`session:${i}`, 'x'.repeat(200));
    for (let i = 0; i < 100; i++) p.set(`cache:${i}`, 'v', 'EX', 600);
    p.set(XSS, 'x'.repeat(5000));
    await p.exec();
    c.disconnect();
    const target = await connectTarget(resolveTarget({ url: server.url }, {}));
    const report = await scanKeyspace(target);
    await target.close();
    file = join(mkdtempSync(join(tmpdir(), 'kw-html-')), 'report.html');
    writeFileSync(file, renderScanHtml(report));
  });
  after(() => server.stop());

  it('opens offline, draws both charts, and shows a hostile key name as text', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const dialogs: string[] = [];
      const requests: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);
      await page.waitForFunction(() => document.querySelectorAll('#patterns tr').length > 1);
      assert.deepEqual(dialogs, [], 'a script ran from a key name');
      assert.equal(await page.locator('img').count(), 0);
      const cells = await page.locator('#bigkeys code').allTextContents();
      assert.ok(cells.includes(XSS), `big keys: ${cells.join(' | ')}`);
      const patterns = await page.locator('#patterns code').allTextContents();
      assert.ok(patterns.includes('session:*'));
      const charts = await page.evaluate(() => {
        const w = window as unknown as { Chart?: { getChart(el: Element): unknown } };
        return ['bytesChart', 'ttlChart'].map((id) => Boolean(w.Chart?.getChart(document.getElementById(id) as Element)));
      });
      assert.deepEqual(charts, [true, true]);
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file:')),
        [],
        'the report fetched something from the network',
      );
      const shot = join(tmpdir(), 'keywarden-scan-report.png');
      await page.screenshot({ path: shot, fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
