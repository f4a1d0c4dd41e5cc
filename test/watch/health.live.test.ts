/**
 * watch's health tells the truth, against real servers: /healthz is the process, /readyz is
 * whether its figures can be trusted right now (connected, every node answering, the last
 * pass not failed); failing passes are counted by reason and alerted on; a target that is
 * down at start is reported (up 0) and connected to once it answers, as exporters do.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveTarget } from '../../src/target/spec.js';
import { policyFromObject } from '../../src/policy/index.js';
import { createLogger, startWatch, type WatchOptions } from '../../src/watch/index.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';
import { get, waitFor } from './support.js';

const stops: Array<() => Promise<void>> = [];
after(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

async function watchOf(url: string, options: { replyTimeoutMs?: number; extra?: Partial<WatchOptions> } = {}) {
  const logs: string[] = [];
  const w = await startWatch({
    target: resolveTarget({ url, connectTimeoutMs: 500, replyTimeoutMs: options.replyTimeoutMs }, {}),
    listen: { host: '127.0.0.1', port: 0 },
    intervalMs: 200,
    infoIntervalMs: 200,
    checkpointIntervalMs: 200,
    statePath: false,
    doctorIntervalMs: false,
    reconnect: { minMs: 100, maxMs: 300 },
    logger: createLogger((l) => logs.push(l), 'text', 'debug'),
    ...options.extra,
  });
  stops.push(() => w.stop());
  return Object.assign(w, { logs });
}

const metric = (text: string, name: string) =>
  [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => ({ labels: m[1] ?? '', value: Number(m[2]) }));

describe('watch health', () => {
  it('starts while its target is down: up 0, not ready, then connects when the server comes', async () => {
    const port = await freePort();
    const w = await watchOf(`redis://127.0.0.1:${port}`);
    assert.equal((await get(`${w.url}/healthz`)).status, 200, 'the process is alive');
    const ready = await get(`${w.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(ready.body, /not ready: not connected: connection refused/);
    const up = metric((await get(`${w.url}/metrics`)).body, 'keywarden_up');
    assert.deepEqual(up, [{ labels: `{node="127.0.0.1:${port}"}`, value: 0 }]);
    assert.ok(w.logs.some((l) => /cannot connect to the target yet; retrying/.test(l)));

    const server = await startRedis({ port });
    stops.push(() => server.stop());
    await waitFor('ready once the server answers', async () => (await get(`${w.url}/readyz`)).status === 200, 15_000);
    assert.deepEqual(
      metric((await get(`${w.url}/metrics`)).body, 'keywarden_up').map((m) => m.value),
      [1],
    );
  });

  it('a user without +scan: up 1 but not ready, errors counted by reason, KeywardenScanFailing fires', async () => {
    const server = await startRedis();
    stops.push(() => server.stop());
    const admin = server.client();
    await admin.call('ACL', 'SETUSER', 'noscan', 'on', '>noscan-pw', '~*', '+@all', '-scan');
    await admin.set('k', 'v');
    admin.disconnect();
    const w = await watchOf(`redis://noscan:noscan-pw@127.0.0.1:${server.port}`);
    await waitFor('the alert on failing passes', async () => ((await get(`${w.url}/alerts`)).body.includes('KeywardenScanFailing') ? true : undefined), 20_000);
    const metrics = (await get(`${w.url}/metrics`)).body;
    assert.deepEqual(
      metric(metrics, 'keywarden_up').map((m) => m.value),
      [1],
      'the node answers',
    );
    const errors = metric(metrics, 'keywarden_scan_errors_total');
    assert.ok(
      errors.some((e) => e.labels === '{reason="permission"}' && e.value >= 3),
      JSON.stringify(errors),
    );
    const ready = await get(`${w.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(ready.body, /passes failed: .*may not run SCAN/);
    const alerts = JSON.parse((await get(`${w.url}/alerts`)).body) as { firing: Array<{ rule: string; labels: Record<string, string> }> };
    assert.ok(alerts.firing.some((a) => a.rule === 'KeywardenScanFailing' && a.labels.reason === 'permission'));
    assert.ok(!alerts.firing.some((a) => a.rule === 'KeywardenDown'));
  });

  it('a user without +info: the node is up and KeywardenDown does not fire', async () => {
    const server = await startRedis();
    stops.push(() => server.stop());
    const admin = server.client();
    await admin.call('ACL', 'SETUSER', 'noinfo', 'on', '>noinfo-pw', '~*', '+@all', '-info');
    await admin.set('k', 'v');
    admin.disconnect();
    const w = await watchOf(`redis://noinfo:noinfo-pw@127.0.0.1:${server.port}`);
    await w.nextPass();
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(
      metric((await get(`${w.url}/metrics`)).body, 'keywarden_up').map((m) => m.value),
      [1],
    );
    assert.equal((await get(`${w.url}/readyz`)).status, 200);
    assert.ok(!(await get(`${w.url}/alerts`)).body.includes('KeywardenDown'));
  });

  it('a stopped server (SIGSTOP): not ready while it answers nothing, ready again after SIGCONT', async () => {
    const server: RedisServer = await startRedis();
    stops.push(() => server.stop());
    const w = await watchOf(server.url, { replyTimeoutMs: 500 });
    await w.nextPass();
    assert.equal((await get(`${w.url}/readyz`)).status, 200);
    server.process.kill('SIGSTOP');
    try {
      await waitFor('not ready while stopped', async () => (await get(`${w.url}/readyz`)).status === 503, 10_000);
      assert.deepEqual(
        metric((await get(`${w.url}/metrics`)).body, 'keywarden_up').map((m) => m.value),
        [0],
      );
    } finally {
      server.process.kill('SIGCONT');
    }
    await waitFor('ready after SIGCONT', async () => (await get(`${w.url}/readyz`)).status === 200, 20_000);
  });

  it('--enforce that cannot write its journal: counted, alerted on, and no empty journal left', async () => {
    const server = await startRedis();
    stops.push(() => server.stop());
    const c = server.client();
    for (let i = 0; i < 10; i++) await c.set(`session:${i}`, 'v');
    c.disconnect();
    const dir = mkdtempSync(join(tmpdir(), 'keywarden-enforce-'));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    // A --journal-dir under a regular file cannot be created.
    writeFileSync(join(dir, 'file'), 'x');
    const policy = policyFromObject({ rules: [{ match: 'session:*', ttl: '1h' }] });
    const w = await watchOf(server.url, { extra: { policy, enforce: true, journalDir: join(dir, 'file', 'journals') } });
    await waitFor('KeywardenEnforceFailing', async () => ((await get(`${w.url}/alerts`)).body.includes('KeywardenEnforceFailing') ? true : undefined), 20_000);
    const errors = metric((await get(`${w.url}/metrics`)).body, 'keywarden_enforce_errors_total');
    assert.ok(errors.length === 1 && errors[0].value >= 1, JSON.stringify(errors));
    assert.deepEqual(readdirSync(dir), ['file'], 'nothing else was created');
    const check = server.client();
    assert.equal(await check.ttl('session:0'), -1, 'nothing was written without a journal');
    check.disconnect();
  });
});
