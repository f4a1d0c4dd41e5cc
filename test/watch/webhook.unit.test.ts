/**
 * Alert delivery against hostile or broken receivers (real HTTP servers on loopback): a
 * redirect loop, a huge reply, a URL holding credentials, a path token and a query secret.
 * Each failure is one log line saying why, naming only the origin.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { AlertRecord } from '../../src/watch/alerts/types.js';
import { createWebhookNotifier } from '../../src/watch/alerts/webhook.js';
import { createLogger } from '../../src/watch/log.js';

const alert = {
  id: 'a1',
  rule: 'KeywardenNoTtlKeys',
  severity: 'warning',
  labels: {},
  summary: 'no TTL',
  value: 1,
  threshold: 0,
  status: 'firing',
  startsAt: Date.now(),
} as unknown as AlertRecord;

describe('webhook delivery', () => {
  let server: Server;
  let base: string;
  const hits: Record<string, number> = {};
  const auth: string[] = [];
  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0];
      hits[path] = (hits[path] ?? 0) + 1;
      if (req.headers.authorization) auth.push(req.headers.authorization);
      req.resume();
      if (path === '/loop') {
        res.writeHead(302, { location: '/loop' }).end();
      } else if (path === '/huge') {
        // 200 MB if read to the end: the notifier must hang up long before.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(1 << 20, 97);
        let sent = 0;
        const pump = () => {
          while (sent < 200 && res.write(chunk)) sent++;
          if (sent >= 200) res.end();
          else res.once('drain', pump);
        };
        res.on('error', () => undefined);
        pump();
      } else {
        res.writeHead(500).end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  function notifier(url: string) {
    const lines: string[] = [];
    const n = createWebhookNotifier({ url, format: 'json', target: 'redis://x:1', log: createLogger((l) => lines.push(l)), retryDelaysMs: [10, 10] });
    return { n, lines };
  }

  it('does not follow redirects: one request per alert, and the log says why', async () => {
    const { n, lines } = notifier(`${base}/loop`);
    n.send(alert, 'firing');
    await n.drain();
    assert.equal(hits['/loop'], 1);
    assert.equal(n.failed, 1);
    assert.match(lines.join(''), /HTTP 302 redirect \(not followed/);
  });

  it('reads only a small part of a huge reply', async () => {
    const rssBefore = process.memoryUsage().rss;
    const { n } = notifier(`${base}/huge`);
    n.send(alert, 'firing');
    await n.drain();
    assert.equal(n.delivered, 1);
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * 1024 * 1024, 'the 200 MB body was not buffered');
  });

  it('sends URL credentials as Basic auth and never logs them, the path token or the query', async () => {
    const url = `${base.replace('http://', 'http://hookuser:HookPass-Secret1@')}/services/T0/B0/PathToken-Secret2?key=QuerySecret3`;
    const { n, lines } = notifier(url);
    n.send(alert, 'firing');
    await n.drain();
    assert.equal(n.failed, 1);
    const log = lines.join('');
    assert.match(log, /alert webhook failed .*HTTP 500/);
    for (const secret of ['HookPass-Secret1', 'PathToken-Secret2', 'QuerySecret3', 'hookuser']) assert.ok(!log.includes(secret), `${secret} in ${log}`);
    assert.ok(auth.includes(`Basic ${Buffer.from('hookuser:HookPass-Secret1').toString('base64')}`));
  });

  it('says why a receiver cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const addr = closed.address();
    await new Promise<void>((r) => closed.close(() => r()));
    const { n, lines } = notifier(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/x`);
    n.send(alert, 'firing');
    await n.drain();
    assert.match(lines.join(''), /connection refused \(ECONNREFUSED\)/);
  });
});
