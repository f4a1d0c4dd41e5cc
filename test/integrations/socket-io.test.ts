/**
 * The socket.io Redis adapter through guard(), with ioredis and with node-redis (pub/sub on a
 * `duplicate()` of the guarded client): two socket.io servers on one Redis, a room broadcast and fetchSockets across
 * them. Pub/sub creates no keys, so nothing may get a TTL and nothing may be left behind.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { guard } from '../../src/guard/index.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const POLICY = { rules: [{ match: 'socket.io*', ttl: '1h' }] };

describe('socket.io Redis adapter through guard()', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(() => server?.stop());

  /** Pub and sub clients for one socket.io server, and how to close them. */
  type Clients = { pub: unknown; sub: unknown; keys(): Promise<number>; close(): Promise<void> };

  async function broadcastAcrossTwoServers(clientsFor: () => Promise<Clients>): Promise<void> {
    const clients: Clients[] = [];
    const servers: Server[] = [];
    const start = async (): Promise<number> => {
      const c = await clientsFor();
      clients.push(c);
      const http = createServer();
      const ioServer = new Server(http, { adapter: createAdapter(c.pub, c.sub) });
      servers.push(ioServer);
      ioServer.on('connection', (socket) => void socket.join('room-1'));
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      return (http.address() as AddressInfo).port;
    };
    const portA = await start();
    await start();
    const client = connect(`http://127.0.0.1:${portA}`, { transports: ['websocket'] });
    try {
      await new Promise<void>((resolve) => client.on('connect', () => resolve()));
      const received = new Promise<unknown>((resolve) => client.on('news', resolve));
      // Wait for the join to be seen from the other server, through Redis.
      const deadline = Date.now() + 5000;
      while ((await servers[1].in('room-1').fetchSockets()).length !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await servers[1].in('room-1').fetchSockets()).length, 1, 'server B sees the socket on server A');
      servers[1].to('room-1').emit('news', { n: 1 });
      assert.deepEqual(await received, { n: 1 });
      assert.equal(await clients[0].keys(), 0, 'pub/sub left no key behind');
    } finally {
      client.disconnect();
      for (const s of servers) await s.close();
      for (const c of clients) await c.close();
    }
  }

  it('broadcasts to a room and fetches sockets across two servers, with guarded pub and sub clients', async () => {
    await broadcastAcrossTwoServers(async () => {
      const pub = guard(new Redis(server.url), { policy: POLICY, defaultTtl: '1h' });
      const sub = pub.duplicate();
      return {
        pub,
        sub,
        keys: () => pub.dbsize(),
        close: async () => {
          pub.disconnect();
          sub.disconnect();
        },
      };
    });
  });

  it('the same with node-redis: a guarded client and its duplicate() for the subscriptions', async () => {
    await broadcastAcrossTwoServers(async () => {
      const pub = guard(createClient({ url: server.url }), { policy: POLICY, defaultTtl: '1h' });
      const sub = pub.duplicate();
      await Promise.all([pub.connect(), sub.connect()]);
      return {
        pub,
        sub,
        keys: () => pub.dbSize(),
        close: async () => {
          await Promise.all([pub.close(), sub.close()]);
        },
      };
    });
  });
});
