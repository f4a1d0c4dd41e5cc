/**
 * The offline redis.conf lint agrees with redis-server itself: each file is also given to a
 * real redis-server, and the lint reports "refuses" exactly for the files the server refuses
 * to start with. And protected-mode with no bind and no password is what Redis 7 makes of
 * it — reachable from loopback only (checked by connecting from this host's own non-loopback
 * address) — so the lint does not call it CRITICAL.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { confFacts, readConf } from '../../src/doctor/conf.js';
import { diagnose } from '../../src/doctor/index.js';
import { freePort, REDIS_SERVER } from '../support/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'keywarden-conf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function conf(name: string, text: string): string {
  const path = join(dir, `${name}.conf`);
  writeFileSync(path, `${text}\n`);
  return path;
}

/** Does redis-server start with this file? (It exits at once, with FATAL CONFIG FILE ERROR, when not.) */
async function serverAccepts(path: string): Promise<boolean> {
  const port = await freePort();
  const child = spawn(REDIS_SERVER, [path, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no'], {
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const outcome = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 1500))]);
  if (outcome === 'running') {
    child.kill('SIGKILL');
    await exited;
    return true;
  }
  return outcome === 0;
}

const lintRefuses = (path: string) => readConf(path).problems.length > 0;

describe('redis.conf lint against redis-server', () => {
  const files: Array<[string, string]> = [
    ['memory-units', 'maxmemory 2gb\nmaxmemory-policy allkeys-lru'],
    ['aliases', 'slave-read-only yes\nhash-max-ziplist-entries 128\nappendonly no'],
    ['booleans', 'protected-mode yes\nlazyfree-lazy-eviction yes'],
    ['bad-unit', 'maxmemory 12zb'],
    ['unknown-directive', 'bogus-directive 1'],
    ['bad-boolean', 'appendonly maybe'],
    ['bad-policy', 'maxmemory-policy lru-everything'],
    ['bad-quotes', 'requirepass "unbalanced'],
  ];

  it('reports a problem exactly for the files redis-server refuses', async () => {
    for (const [name, text] of files) {
      const path = conf(name, text);
      const accepted = await serverAccepts(path);
      assert.equal(
        lintRefuses(path),
        !accepted,
        `${name}: redis-server ${accepted ? 'starts' : 'refuses'}, the lint says ${lintRefuses(path) ? 'refused' : 'fine'}`,
      );
    }
  });

  it('a bad value never reaches the rules as a figure', async () => {
    const report = await diagnose(undefined, { config: conf('nan', 'maxmemory 12zb') });
    assert.doesNotMatch(JSON.stringify(report), /NaN/);
  });

  it('protected-mode, no bind, no password: loopback only, as redis-server does it, and not CRITICAL', async () => {
    const path = conf('defaults', 'protected-mode yes');
    const facts = confFacts(readConf(path));
    assert.ok(facts);
    const report = await diagnose(undefined, { config: path });
    const critical = report.findings.filter((f) => f.severity === 'critical').map((f) => f.id);
    assert.deepEqual(critical, []);

    // What the server does with that file: a client from a non-loopback address is refused.
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    assert.ok(external, 'this host needs a non-loopback IPv4 address for the check');
    const port = await freePort();
    const child = spawn(REDIS_SERVER, [path, '--port', String(port), '--save', '', '--dir', dir, '--daemonize', 'no'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && spawnSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' }).stdout.trim() !== 'PONG'; i++)
        await new Promise((r) => setTimeout(r, 20));
      const local = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      await local.connect();
      assert.equal(await local.ping(), 'PONG');
      local.disconnect();
      const remote = new Redis({ host: external, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      remote.on('error', () => undefined);
      await assert.rejects(
        (async () => {
          await remote.connect();
          await remote.ping();
        })(),
        /DENIED|protected mode|closed/i,
      );
      remote.disconnect();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
