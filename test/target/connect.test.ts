import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConnectionError, PermissionError } from '../../src/errors.js';
import { connectTarget } from '../../src/target/connect.js';
import { serverRefusal } from '../../src/target/errors.js';
import { resolveTarget } from '../../src/target/spec.js';
import { freePort, startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';

const SECRET = 's3cret-Pa55';

describe('resolveTarget', () => {
  it('defaults to 127.0.0.1:6379', () => {
    const t = resolveTarget({}, {});
    assert.equal(t.host, '127.0.0.1');
    assert.equal(t.port, 6379);
    assert.equal(t.db, undefined);
    assert.equal(t.display, 'redis://127.0.0.1:6379');
  });
  it('takes REDIS_URL when no URL is given, the explicit URL over it', () => {
    assert.equal(resolveTarget({}, { REDIS_URL: 'redis://cache:7000/2' }).port, 7000);
    assert.equal(resolveTarget({ url: 'redis://other:7001' }, { REDIS_URL: 'redis://cache:7000' }).host, 'other');
  });
  it('parses credentials and db from the URL and never displays them', () => {
    const t = resolveTarget({ url: `redis://app:${SECRET}@db.example:6380/3` }, {});
    assert.deepEqual([t.username, t.password, t.host, t.port, t.db], ['app', SECRET, 'db.example', 6380, 3]);
    assert.ok(!t.display.includes(SECRET) && !t.display.includes('app'));
  });
  it('lets -h -p -a --user -n override the URL like redis-cli', () => {
    const t = resolveTarget({ url: 'redis://a:1/0', host: 'b', port: '2', password: 'p', user: 'u', db: '4' }, {});
    assert.deepEqual([t.host, t.port, t.password, t.username, t.db], ['b', 2, 'p', 'u', 4]);
  });
  it('treats rediss:// as TLS', () => {
    assert.ok(resolveTarget({ url: 'rediss://h:6380' }, {}).tls);
    assert.equal(resolveTarget({ url: 'redis://h:6380' }, {}).tls, undefined);
  });
  it('rejects bad URLs, ports and dbs with a usage error that hides the password', () => {
    assert.throws(
      () => resolveTarget({ url: `http://u:${SECRET}@h` }, {}),
      (e: Error) => !e.message.includes(SECRET) && /scheme/.test(e.message),
    );
    assert.throws(() => resolveTarget({ port: '99999' }, {}), /not a valid port/);
    assert.throws(() => resolveTarget({ db: 'x' }, {}), /not a valid database/);
  });
});

describe('connectTarget against real servers', () => {
  let plain: RedisServer;
  let secured: RedisServer;
  let cluster: RedisCluster;
  before(async () => {
    [plain, secured, cluster] = await Promise.all([startRedis(), startRedis({ config: { requirepass: SECRET } }), startCluster()]);
    const admin = secured.client({ password: SECRET });
    await admin.call('ACL', 'SETUSER', 'noscan', 'on', '>pw', '~*', '+@all', '-scan');
    admin.disconnect();
  });
  after(async () => {
    await Promise.all([plain.stop(), secured.stop(), cluster.stop()]);
  });

  async function failure(url: string, extra = {}): Promise<Error> {
    try {
      const t = await connectTarget(resolveTarget({ url, connectTimeoutMs: 800, ...extra }, {}));
      await t.close();
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected a failure');
  }

  it('connects to a standalone server', async () => {
    const t = await connectTarget(resolveTarget({ url: plain.url }, {}));
    assert.equal(t.mode, 'standalone');
    assert.match(t.redisVersion, /^\d+\.\d+/);
    assert.equal(t.nodes.length, 1);
    await t.close();
  });

  it('detects a cluster and reads every master', async () => {
    const t = await connectTarget(resolveTarget({ url: cluster.url }, {}));
    assert.equal(t.mode, 'cluster');
    assert.deepEqual(t.nodes.map((n) => n.address).sort(), cluster.masters.map((m) => `127.0.0.1:${m.port}`).sort());
    await t.close();
  });

  it('says connection refused for a closed port', async () => {
    const err = await failure(`redis://127.0.0.1:${await freePort()}`);
    assert.ok(err instanceof ConnectionError);
    assert.match(err.message, /connection refused/);
  });

  it('says unknown host', async () => {
    const err = await failure('redis://no-such-host.invalid:6379');
    assert.match(err.message, /unknown host/);
  });

  it('says wrong password without printing it', async () => {
    const err = await failure(`redis://default:wrong-${SECRET}@127.0.0.1:${secured.port}`);
    assert.match(err.message, /authentication failed/);
    assert.ok(!err.message.includes(SECRET) && !(err as ConnectionError).hint.includes(SECRET));
  });

  it('says a password is required', async () => {
    const err = await failure(secured.url);
    assert.match(err.message, /requires a password/);
  });

  it('says TLS mismatch when rediss:// meets a plain port', async () => {
    const err = await failure(`rediss://127.0.0.1:${plain.port}`, { insecure: true });
    assert.match(err.message, /TLS/);
  });

  it('says "not like a Redis server" for an HTTP server, and times out on a silent one', async () => {
    const http = createServer((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const silent = createServer(() => undefined);
    await Promise.all([new Promise<void>((r) => http.listen(0, '127.0.0.1', r)), new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))]);
    try {
      const port = (http.address() as { port: number }).port;
      assert.match((await failure(`redis://127.0.0.1:${port}`)).message, /not like a Redis server|closed the connection/);
      const silentPort = (silent.address() as { port: number }).port;
      assert.match((await failure(`redis://127.0.0.1:${silentPort}`)).message, /did not answer in time/);
    } finally {
      http.close();
      silent.close();
    }
  });

  it('names the missing ACL permission', async () => {
    const t = await connectTarget(resolveTarget({ url: `redis://noscan:pw@127.0.0.1:${secured.port}` }, {}));
    const { permissionFailure } = await import('../../src/target/errors.js');
    const err = await t.nodes[0].client.scan('0').catch((e: Error) => permissionFailure(e, t.spec.display));
    await t.close();
    assert.ok(err instanceof PermissionError);
    assert.match(err.message, /may not run SCAN/);
  });
});

describe('serverRefusal', () => {
  it('finds the server state under errors that already named the node', () => {
    const reply = new Error('LOADING Redis is loading the dataset in memory');
    const named = new ConnectionError('127.0.0.1:6379 is still loading its dataset into memory (it has just started)', 'wait', { cause: reply });
    const wrapped = new ConnectionError(named.message, named.hint, { cause: named });
    assert.match(serverRefusal(wrapped, 'redis://127.0.0.1:6379')?.message ?? '', /^redis:\/\/127\.0\.0\.1:6379 is still loading/);
    assert.equal(serverRefusal(new Error('Command timed out'), 'x'), undefined);
  });
});
