/**
 * Outputs read right (issue 15, item 7): one size convention in every format, headers that say
 * what a share is of, a policy column with its header, when each report was taken, a filtered
 * scan's rate in keys read, a complete scan explaining keys DBSIZE counted that it did not
 * find, and the HTML report's chart ticks at round sizes and TTLs in human units.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { formatBytes } from '../../src/units.js';
import { renderScanHtml } from '../../src/cli/render/scan-html.js';
import { renderScanMarkdown } from '../../src/cli/render/scan-markdown.js';
import { renderScanTable } from '../../src/cli/render/scan-table.js';
import type { ScanReport } from '../../src/keyspace/report.js';
import { launchBrowser } from '../support/browser.js';
import { runCli } from '../support/cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-outputs-'));
/** A size written with a decimal-looking label (KB, MB, GB) where the value is binary. */
const WRONG_UNIT = /\d (KB|MB|GB|TB)\b/;

describe('outputs read right', () => {
  let server: RedisServer;
  let report: ScanReport;
  let started: number;
  let finished: number;
  before(async () => {
    server = await startRedis();
    const c = server.client();
    const p = c.pipeline();
    for (let i = 0; i < 500; i++) p.set(`session:${i}`, 'x'.repeat(2000));
    for (let i = 0; i < 100; i++) p.set(`cache:${i}`, 'v', 'EX', 600);
    for (let i = 0; i < 5; i++) p.zadd(`board:${i}`, 1, 'a', 2, 'b');
    p.set('blob', 'y'.repeat(300_000), 'EX', 7200);
    await p.exec();
    c.disconnect();
    const policy = join(dir, 'keywarden.yml');
    writeFileSync(policy, 'rules:\n  - match: "session:*"\n    ttl: 24h\n');
    started = Date.now();
    const run = await runCli(['scan', server.url, '--json', '--policy', policy]);
    finished = Date.now();
    assert.ok(run.code === 0 || run.code === 1, run.stderr);
    report = JSON.parse(run.stdout) as ScanReport;
  });
  after(() => server.stop());

  it('sizes: binary units labelled KiB/MiB, the same figure in table, markdown and HTML', async () => {
    const total = formatBytes(report.totals.bytes);
    assert.match(total, /^\d+\.\d+ (KiB|MiB)$/);
    assert.equal(formatBytes(1024 * 1024 * 10), '10.0 MiB');
    assert.equal(formatBytes(512), '512 B');
    const table = renderScanTable(report);
    const md = renderScanMarkdown(report);
    assert.ok(table.includes(total), table);
    assert.ok(md.includes(total), md);
    assert.doesNotMatch(table, WRONG_UNIT);
    assert.doesNotMatch(md, WRONG_UNIT);
    const html = await openHtml(report);
    try {
      assert.ok(html.summary.includes(total), html.summary);
      assert.doesNotMatch(html.text, WRONG_UNIT);
    } finally {
      await html.close();
    }
  });

  it('every report says when it was taken', async () => {
    assert.ok(report.takenAt, 'takenAt in the JSON');
    const t = Date.parse(report.takenAt);
    assert.ok(t >= started - 1000 && t <= finished, `${report.takenAt} is not during the scan`);
    const shown = `taken ${report.takenAt.slice(0, 10)} ${report.takenAt.slice(11, 19)} UTC`;
    assert.ok(renderScanTable(report).split('\n')[0].includes(shown), renderScanTable(report));
    assert.ok(renderScanMarkdown(report).includes(`T${shown.slice(1)}`));
    const html = await openHtml(report);
    try {
      assert.ok(html.summary.includes(shown), html.summary);
    } finally {
      await html.close();
    }
    // doctor's reports too, in each format.
    const before = Date.now();
    const json = await runCli(['doctor', server.url, '--json', '--fail-on', 'none']);
    const doctorTaken = (JSON.parse(json.stdout) as { takenAt?: string }).takenAt;
    assert.ok(doctorTaken && Date.parse(doctorTaken) >= before - 1000, json.stdout.slice(0, 200));
    const text = await runCli(['doctor', server.url, '--fail-on', 'none']);
    assert.match(text.stdout.split('\n')[0], /, 1 node\), taken \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    const md = await runCli(['doctor', server.url, '--format', 'markdown', '--fail-on', 'none']);
    assert.match(md.stdout, /^- Taken \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m);
    assert.match(md.stdout, /, 1 node\)/);
  });

  it('column headers say what a share is of, and the policy column has one', async () => {
    const table = renderScanTable(report);
    const head = table.split('\n').find((l) => l.startsWith('PATTERN'));
    assert.ok(head, table);
    assert.match(head, /SHARE OF ALL BYTES/);
    assert.match(head, /NO TTL, OF ITS BYTES/);
    assert.match(head, /POLICY RULE$/);
    const session = table.split('\n').find((l) => l.startsWith('session:*'));
    assert.match(session ?? '', /session:\* \(500 violate\)$/);
    assert.match(table.split('\n').find((l) => l.startsWith('cache:*')) ?? '', /\(none\)$/);
    // The suggested fix names the server scanned, so it runs as printed.
    assert.ok(
      table.includes(`break their policy rule (no TTL, or a TTL longer than the rule's): keywarden fix ${server.url} --policy ${join(dir, 'keywarden.yml')}`),
      table,
    );
    assert.match(
      renderScanMarkdown(report),
      /^\| Pattern \| Keys \| Bytes \| Share of all bytes \| No-TTL keys \| No-TTL bytes \| Types \| Example \| Policy rule \|$/m,
    );
    const html = await openHtml(report);
    try {
      assert.deepEqual(html.patternHeads, [
        'Pattern',
        'Keys',
        'Bytes',
        'Share of all bytes',
        'No-TTL keys',
        'No-TTL bytes',
        'Types',
        'Examples',
        'Policy rule',
      ]);
    } finally {
      await html.close();
    }
  });

  it('HTML: chart ticks at round sizes, TTLs in human units', async () => {
    const html = await openHtml(report);
    try {
      assert.ok(html.ticks.length >= 3, `ticks: ${html.ticks.join(', ')}`);
      const step = html.ticks[1] - html.ticks[0];
      // The unit the axis is labelled in is the one of its largest value.
      let unit = 1;
      while (html.ticks[html.ticks.length - 1] / unit >= 1024) unit *= 1024;
      const mantissa = step / unit / 10 ** Math.floor(Math.log10(step / unit) + 1e-9);
      assert.ok(
        [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9),
        `step ${step} is not 1, 2 or 5 × a power of ten of ${unit} B`,
      );
      html.ticks.forEach((v, i) => assert.equal(v, i * step, `ticks: ${html.ticks.join(', ')}`));
      assert.ok(
        html.tickLabels.every((l) => /^(0 B|\d+(\.\d+)? (B|KiB|MiB))$/.test(l)),
        html.tickLabels.join(', '),
      );
      const blob = html.bigKeyRows.find((r) => r[0] === 'blob');
      assert.ok(blob, JSON.stringify(html.bigKeyRows));
      assert.match(blob[4], /^(2h|1h59m)$/, `TTL cell: ${blob[4]}`);
      assert.equal(html.bigKeyHeads[4], 'TTL');
    } finally {
      await html.close();
    }
  });

  it('a --type zset run counts keys read per second, not keys matched', async () => {
    const run = await runCli(['scan', server.url, '--json', '--type', 'zset']);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as ScanReport;
    assert.equal(r.coverage.keysSeen, 5);
    assert.equal(r.coverage.keysRead, r.coverage.dbsize);
    assert.equal(r.coverage.dbsize, 606);
    // durationMs is rounded to the millisecond: the rate is keysRead over the unrounded time.
    const { keysPerSecond: kps, durationMs: ms, keysRead = 0 } = r.coverage;
    assert.ok(
      kps * ((ms + 0.5) / 1000) >= keysRead * 0.99 && kps * (Math.max(ms - 0.5, 0.001) / 1000) <= keysRead * 1.01,
      `${kps} keys/s for ${keysRead} keys read in ${ms} ms`,
    );
    assert.match(renderScanTable(r), /^5 keys matched of 606 read in [\d.]+ s \([\d,]+ keys\/s/m);
  });

  it('complete with fewer keys than DBSIZE says why: they expired during the scan', async () => {
    const expiring = await startRedis({ config: { 'enable-debug-command': 'yes' } });
    try {
      const c = expiring.client();
      // Expired keys still count in DBSIZE until Redis reclaims them; SCAN never returns them.
      await c.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      const p = c.pipeline();
      for (let i = 0; i < 300; i++) p.set(`live:${i}`, 'v');
      for (let i = 0; i < 200; i++) p.set(`gone:${i}`, 'v', 'PX', 20);
      await p.exec();
      await new Promise((r) => setTimeout(r, 100));
      c.disconnect();
      const run = await runCli(['scan', expiring.url, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const r = JSON.parse(run.stdout) as ScanReport;
      assert.equal(r.coverage.complete, true);
      assert.equal(r.coverage.keysSeen, 300);
      assert.equal(r.coverage.dbsize, 500);
      assert.equal(r.coverage.goneDuringScan, 200);
      assert.match(renderScanTable(r), /^200 keys fewer than DBSIZE counted at the start: expired or deleted while the scan ran/m);
      assert.match(renderScanMarkdown(r), /^> 200 keys fewer than DBSIZE counted at the start: expired or deleted while the scan ran\.$/m);
    } finally {
      await expiring.stop();
    }
  });
});

/** The HTML report of `report`, opened in headless chromium, and what a reader sees of it. */
async function openHtml(report: ScanReport) {
  const file = join(mkdtempSync(join(dir, 'html-')), 'report.html');
  writeFileSync(file, renderScanHtml(report));
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => document.querySelectorAll('#patterns tr').length > 1);
    // No named functions inside: the test runner's transform would wrap them in a helper the page lacks.
    const seen = await page.evaluate(() => {
      const w = window as unknown as { Chart: { getChart(el: Element): { scales: { x: { ticks: Array<{ value: number; label: string }> } } } } };
      const x = w.Chart.getChart(document.getElementById('bytesChart') as Element).scales.x;
      return {
        summary: document.getElementById('summary')?.textContent ?? '',
        text: document.body.innerText,
        ticks: x.ticks.map((t) => t.value),
        tickLabels: x.ticks.map((t) => String(t.label)),
        patternHeads: [...document.querySelectorAll('#patterns th')].map((th) => th.textContent ?? ''),
        bigKeyHeads: [...document.querySelectorAll('#bigkeys th')].map((th) => th.textContent ?? ''),
        bigKeyRows: [...document.querySelectorAll('#bigkeys tr')].slice(1).map((tr) => [...tr.children].map((td) => td.textContent ?? '')),
      };
    });
    return { ...seen, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
