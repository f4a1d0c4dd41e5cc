/**
 * express-session with connect-redis through guard(), node-redis standalone and cluster (and
 * connect-redis 7 on node-redis 4, standalone, as apps of that generation run it): a small
 * login/visit workload over real HTTP. Sessions keep connect-redis' own TTL (the cookie's
 * maxAge, sent as SET … EX), never the policy's; the app's own writes get the policy's.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from 'connect-redis';
import RedisStore7 from 'connect-redis7';
import session from 'express-session';
import { createClient as createClient4 } from 'redis4';
import { guard } from '../../src/guard/index.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { describeOnNodeRedis } from './node-redis-topologies.js';

const POLICY = {
  rules: [
    { match: 'sess:*', ttl: '24h' },
    { match: 'visits:*', ttl: '1h' },
  ],
};
const MAX_AGE_MS = 600_000; // the cookie's 10 minutes: connect-redis' own TTL

/* eslint-disable @typescript-eslint/no-explicit-any -- node-redis client and cluster types differ */
type AnyClient = any;

/** An HTTP app: GET /visit counts visits in the session and in Redis (HINCRBY visits:<sid>). */
async function startApp(client: AnyClient, Store: new (options: { client: AnyClient }) => session.Store): Promise<{ url: string; server: Server }> {
  const middleware = session({
    store: new Store({ client }),
    secret: 'test',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: MAX_AGE_MS },
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    middleware(req as any, res as any, async () => {
      const s = (req as any).session as { visits?: number; id: string; save(cb: (err?: unknown) => void): void };
      s.visits = (s.visits ?? 0) + 1;
      const total = await client.hIncrBy(`visits:{${s.id}}`, 'count', 1);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ visits: s.visits, total }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Three visits with one cookie: what the browser sees. */
async function visits(url: string): Promise<{ bodies: unknown[]; sid: string }> {
  const bodies: unknown[] = [];
  let cookie = '';
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${url}/visit`, { headers: cookie ? { cookie } : {} });
    cookie ||= (res.headers.get('set-cookie') ?? '').split(';')[0];
    bodies.push(await res.json());
  }
  const sid = decodeURIComponent(cookie.split('=')[1]).slice(2).split('.')[0];
  return { bodies, sid };
}

async function check(raw: AnyClient, guarded: AnyClient, Store: new (options: { client: AnyClient }) => session.Store = RedisStore): Promise<void> {
  const rawApp = await startApp(raw, Store);
  const guardedApp = await startApp(guarded, Store);
  try {
    const expected = await visits(rawApp.url);
    const got = await visits(guardedApp.url);
    assert.deepEqual(got.bodies, expected.bodies);
    assert.deepEqual(
      got.bodies,
      [1, 2, 3].map((n) => ({ visits: n, total: n })),
    );
    const sessionTtl = await raw.pTTL(`sess:${got.sid}`);
    assert.ok(sessionTtl > MAX_AGE_MS - 60_000 && sessionTtl <= MAX_AGE_MS, `session key: PTTL ${sessionTtl}, connect-redis' own ${MAX_AGE_MS}`);
    const visitsTtl = await raw.pTTL(`visits:{${got.sid}}`);
    assert.ok(visitsTtl > 3_500_000 && visitsTtl <= 3_600_000, `app key: PTTL ${visitsTtl}, the policy's 1h`);
    assert.equal(await raw.pTTL(`visits:{${expected.sid}}`), -1, 'the raw run leaks it, as it would without keywarden');
  } finally {
    rawApp.server.close();
    guardedApp.server.close();
  }
}

describeOnNodeRedis(
  'connect-redis + express-session through guard()',
  {
    standalone: 'node-redis standalone: same responses, sessions keep their cookie TTL',
    cluster: 'node-redis cluster: the same',
  },
  POLICY,
  (raw, guarded) => check(raw, guarded),
);

describe('connect-redis 7 + express-session through guard(), on node-redis 4', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(() => server?.stop());

  it("node-redis 4 standalone: same responses, sessions keep their cookie TTL, the app's keys get the policy's", async () => {
    const raw = createClient4({ url: server.url });
    const guarded = guard(createClient4({ url: server.url }), { policy: POLICY });
    await Promise.all([raw.connect(), guarded.connect()]);
    try {
      await check(raw, guarded, RedisStore7 as unknown as new (options: { client: AnyClient }) => session.Store);
    } finally {
      await Promise.all([raw.quit(), guarded.quit()]);
    }
  });
});
/* eslint-enable @typescript-eslint/no-explicit-any */
