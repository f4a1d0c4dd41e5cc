/**
 * The dashboard in a real headless Chromium: it renders from assets served by the process
 * alone (every other request is refused), key names are text — a key named
 * `<img src=x onerror=alert(1)>` shows as those characters and never becomes an element —
 * and the bearer token guards it when listening beyond loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { UsageError } from '../../src/errors.js';
import { adHocPolicy } from '../../src/policy/index.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';
import { launchChromium } from './browser.js';
import { get, seed, waitFor, watch } from './support.js';

const XSS = '<img src=x onerror=alert(1)>';

interface PageWatch {
  dialogs: string[];
  errors: string[];
  foreign: string[];
}

/** Open `url`, refusing every request that does not go to `origin`. */
async function open(browser: Browser, url: string, origin: string): Promise<{ page: Page; seen: PageWatch }> {
  const page = await browser.newPage();
  const seen: PageWatch = { dialogs: [], errors: [], foreign: [] };
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(m.text());
  });
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin)) return route.continue();
    seen.foreign.push(u);
    return route.abort();
  });
  await page.goto(url);
  return { page, seen };
}

describe('watch dashboard in Chromium', () => {
  let browser: Browser;
  let server: RedisServer;
  before(async () => {
    browser = await launchChromium();
    server = await startRedis({ config: { maxmemory: '64mb', 'maxmemory-policy': 'volatile-lru' } });
    const c = server.client();
    await seed(c, 'session', 400, { size: 64 });
    await seed(c, 'cache', 150, { ttl: 600 });
    await c.set(XSS, 'payload');
    await c.set('term:\x1b[31mred', 'escape sequence');
    c.disconnect();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('renders patterns, alerts, charts and doctor findings from its own assets, with key names as text', async () => {
    const w = await watch(server.url, { policy: { rules: [], alerts: { noTtlKeys: 100 } }, doctorIntervalMs: 60_000 });
    try {
      await w.nextPass();
      await waitFor('doctor', () => w.view.live.doctor);
      const { page, seen } = await open(browser, `${w.url}/`, w.url);
      await page.waitForFunction(() => (window as unknown as { __keywardenRendered: number }).__keywardenRendered >= 1, undefined, { timeout: 15_000 });

      const patternText = await page.locator('#patterns tbody').innerText();
      assert.ok(patternText.includes(XSS), `the key name shows as text:\n${patternText}`);
      assert.ok(patternText.includes('session:*'));
      assert.ok(patternText.includes('term:\\x1b[31mred'), 'control bytes are shown escaped');
      assert.equal(await page.locator('img').count(), 0, 'no element was created from a key name');
      assert.deepEqual(seen.dialogs, [], 'no script ran from a key name');

      assert.match(await page.locator('#alerts tbody').innerText(), /KeywardenNoTtlKeys/);
      assert.match(await page.locator('#findings').innerText(), /volatile-\* eviction policy/);
      assert.match(await page.locator('#c-nottl').innerText(), /^40[12]$/);
      assert.match(await page.locator('#status').innerText(), /^up · standalone/);
      const charts = await page.evaluate(() => {
        const C = (window as unknown as { Chart: { getChart(id: string): { data: { datasets: unknown[]; labels?: unknown[] } } | undefined } }).Chart;
        return ['chart-patterns', 'chart-memory', 'chart-ttl'].map((id) => {
          const ch = C.getChart(id);
          return { id, datasets: ch?.data.datasets.length ?? 0, labels: ch?.data.labels?.length ?? 0 };
        });
      });
      assert.deepEqual(
        charts.map((c) => [c.id, c.datasets > 0]),
        [
          ['chart-patterns', true],
          ['chart-memory', true],
          ['chart-ttl', true],
        ],
      );
      assert.ok(charts[0].labels >= 3, 'pattern chart has one bar per pattern');
      assert.deepEqual(seen.foreign, [], 'nothing is fetched from outside the process');
      assert.deepEqual(seen.errors, []);

      const csp = (await get(`${w.url}/`)).headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'/);
      assert.ok(!csp.includes('unsafe-inline'));
      await page.close();
    } finally {
      await w.stop();
    }
  });

  it('one keys-without-TTL figure, policy violations shown, and no "No alert is firing" before there is anything to judge', async () => {
    const policy = adHocPolicy('session:*', '1h');
    policy.alerts.noTtlKeys = 100;
    const w = await watch(server.url, { policy });
    try {
      await w.nextPass();
      const { page, seen } = await open(browser, `${w.url}/`, w.url);
      await page.waitForFunction(() => (window as unknown as { __keywardenRendered: number }).__keywardenRendered >= 1, undefined, { timeout: 15_000 });
      const noTtl = await page.locator('#c-nottl').innerText();
      const alert = await page.locator('#alerts tbody').innerText();
      const inAlert = /(\d+) keys have no TTL/.exec(alert)?.[1];
      assert.equal(noTtl, inAlert, `card ${noTtl}, alert: ${alert}`);
      assert.match(await page.locator('#c-nottl-share').innerText(), /\b400 break their policy rule\b/);
      const heads = await page.locator('#patterns thead th').allInnerTexts();
      assert.ok(heads.includes('break policy') && heads.includes('no-TTL share of keys'), heads.join(' | '));
      const session = (await page.locator('#patterns tbody tr', { hasText: 'session:*' }).first().locator('td').allInnerTexts())[heads.indexOf('break policy')];
      assert.equal(session, '400');
      assert.deepEqual(seen.errors, []);
      await page.close();
    } finally {
      await w.stop();
    }
    // A target that does not answer yet: the page says so instead of "No alert is firing".
    const down = await watch(`redis://127.0.0.1:${await freePort()}`);
    try {
      const { page } = await open(browser, `${down.url}/`, down.url);
      await page.waitForFunction(() => (window as unknown as { __keywardenRendered: number }).__keywardenRendered >= 1, undefined, { timeout: 15_000 });
      const empty = page.locator('#alerts-empty');
      if (await empty.isVisible()) assert.match(await empty.innerText(), /^Not connected to the target yet/);
      assert.doesNotMatch(await page.locator('main').innerText(), /No alert is firing/);
      await page.close();
    } finally {
      await down.stop();
    }
  });

  it('refuses to listen beyond loopback without a token', async () => {
    await assert.rejects(
      watch(server.url, { listen: { host: '0.0.0.0', port: 0 } }),
      (err: unknown) => err instanceof UsageError && /--auth-token/.test(err.hint),
    );
  });

  it('guards every route but /metrics with the bearer token; a browser opens /?token= once and keeps a cookie', async () => {
    const token = 'tok-3f9a7c1e-5b2d8e40';
    const w = await watch(server.url, { listen: { host: '0.0.0.0', port: 0 }, authToken: token });
    try {
      const base = w.url.replace('0.0.0.0', '127.0.0.1');
      for (const path of ['/', '/alerts', '/api/state', '/assets/dashboard.js']) assert.equal((await get(`${base}${path}`)).status, 401, path);
      assert.equal((await get(`${base}/api/state`, { authorization: 'Bearer wrong' })).status, 401);
      assert.equal((await get(`${base}/api/state`, { authorization: `Bearer ${token}` })).status, 200);
      assert.equal((await get(`${base}/metrics`)).status, 200, '/metrics stays open for Prometheus unless --protect-metrics');
      assert.equal((await get(`${base}/healthz`)).status, 200);

      const { page, seen } = await open(browser, `${base}/?token=${token}`, base);
      await page.waitForFunction(() => (window as unknown as { __keywardenRendered: number }).__keywardenRendered >= 1, undefined, { timeout: 15_000 });
      assert.equal(page.url(), `${base}/`, 'the token leaves the address bar');
      assert.deepEqual(seen.errors, []);
      await page.close();
    } finally {
      await w.stop();
    }
    const locked = await watch(server.url, { authToken: token, protectMetrics: true });
    try {
      assert.equal((await get(`${locked.url}/metrics`)).status, 401);
      assert.equal((await get(`${locked.url}/metrics`, { authorization: `Bearer ${token}` })).status, 200);
    } finally {
      await locked.stop();
    }
  });
});
