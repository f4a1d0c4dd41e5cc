// Makes the README's dashboard screenshot on a realistic, leaking keyspace:
//   node --import tsx test/watch/screenshot.ts docs/watch-dashboard.png
import { parsePolicy } from '../../src/policy/index.js';
import { startRedis } from '../support/redis.js';
import { launchChromium } from './browser.js';
import { seed, watch } from './support.js';

const out = process.argv[2] ?? 'docs/watch-dashboard.png';
const server = await startRedis({ config: { maxmemory: '16mb', 'maxmemory-policy': 'noeviction' } });
const c = server.client();
await seed(c, 'cache:product', 2500, { ttl: 3600, size: 300 });
await seed(c, 'token', 400, { ttl: 86_400, size: 64 });
const p = c.pipeline();
for (let i = 0; i < 800; i++) p.hset(`user:${1000 + i}:profile`, 'name', `user ${i}`, 'email', `u${i}@example.com`);
for (let i = 0; i < 300; i++) p.set(`otp:${i}`, '123456', 'EX', 45);
p.set('<img src=x onerror=alert(1)>', 'a key name is data, not markup');
await p.exec();
await seed(c, 'session', 4000, { size: 200 });
await seed(c, 'ratelimit', 900, { size: 4 });

const policy = parsePolicy(
  [
    'rules:',
    '  - match: "session:*"',
    '    ttl: 24h',
    '  - match: "user:*:profile"',
    '    role: durable',
    'alerts:',
    '  noTtlKeys: 1000',
    '  timeToFull: 1h',
    '  noTtlGrowth: { window: 30s, minIncrease: 500 }',
  ].join('\n'),
);
const w = await watch(server.url, { policy, intervalMs: 2000, infoIntervalMs: 500, forecastWindowMs: 30_000, doctorIntervalMs: 10_000 });
// The leak: sessions and rate-limit keys keep arriving without TTL.
let n = 4000;
for (let step = 0; step < 40; step++) {
  await seed(c, 'session', 150, { size: 200, from: n });
  await seed(c, 'ratelimit', 20, { size: 4, from: 900 + step * 20 });
  n += 150;
  await new Promise((r) => setTimeout(r, 500));
}
await w.nextPass();
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 });
await page.goto(`${w.url}/`);
await page.waitForFunction(() => (window as unknown as { __keywardenRendered: number }).__keywardenRendered >= 1);
await page.screenshot({ path: out, fullPage: true });
await browser.close();
await w.stop();
c.disconnect();
await server.stop();
console.log(`wrote ${out}`);
