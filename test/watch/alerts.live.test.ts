/**
 * Alerts end to end: a real server driven into each condition, a real webhook receiver, and
 * /alerts. Every alert must fire once, repeat only at the repeat interval, and resolve once
 * the condition is gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Policy } from '../../src/policy/index.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startRedis } from '../support/redis.js';
import { get, seed, waitFor, watch, webhookReceiver, type WebhookReceiver } from './support.js';

interface Delivered {
  kind: string;
  status: 'firing' | 'resolved';
  event: 'firing' | 'repeat' | 'resolved';
  target: string;
  alert: { id: string; rule: string; labels: Record<string, string>; summary: string; value: number };
}

const policy = (alerts: Policy['alerts']): Policy => ({ rules: [], alerts });

describe('watch alerts', () => {
  let hook: WebhookReceiver;
  before(async () => (hook = await webhookReceiver()));
  after(() => hook.close());
  const events = (rule: string) => hook.received.map((r) => r.body as Delivered).filter((b) => b.alert.rule === rule);

  it('noTtlKeys fires once, is listed at /alerts, repeats at the interval, and resolves when keys get TTLs', async () => {
    const server = await startRedis();
    const c = server.client();
    await seed(c, 'session', 30);
    const w = await watch(server.url, { policy: policy({ noTtlKeys: 20, repeatIntervalMs: 1500 }), alertWebhook: hook.url });
    try {
      await waitFor('the firing webhook', () => events('KeywardenNoTtlKeys').length >= 1);
      const first = events('KeywardenNoTtlKeys')[0];
      assert.equal(first.kind, 'keywarden.alert');
      assert.equal(first.status, 'firing');
      assert.equal(first.alert.value, 30);
      assert.equal(first.target, server.url);
      const listed = JSON.parse((await get(`${w.url}/alerts`)).body) as { firing: Array<{ rule: string }> };
      assert.deepEqual(
        listed.firing.map((a) => a.rule),
        ['KeywardenNoTtlKeys'],
      );
      // 200 ms evaluations for a while: no duplicate until the repeat interval, except the one
      // update that carries the top patterns when the alert fired before the first pass.
      await new Promise((r) => setTimeout(r, 800));
      const early = events('KeywardenNoTtlKeys');
      const withPatterns = /; most without TTL: session:\* \(30\)$/;
      if (early.length === 2) {
        assert.match(early[0].alert.summary, /; top patterns without TTL: after the first pass$/);
        assert.equal(early[1].event, 'repeat');
        assert.match(early[1].alert.summary, withPatterns);
      } else {
        assert.equal(early.length, 1, 'deduplicated');
        assert.match(early[0].alert.summary, withPatterns);
      }
      await waitFor('a repeat', () => events('KeywardenNoTtlKeys').length > early.length && events('KeywardenNoTtlKeys').at(-1)!.event === 'repeat', 5000);

      const p = c.pipeline();
      for (let i = 0; i < 15; i++) p.expire(`session:${i}`, 3600);
      await p.exec();
      await waitFor('the resolved webhook', () => events('KeywardenNoTtlKeys').some((e) => e.status === 'resolved'));
      const resolved = JSON.parse((await get(`${w.url}/alerts`)).body) as { firing: unknown[]; resolved: Array<{ rule: string; endsAt: number }> };
      assert.deepEqual(resolved.firing, []);
      assert.equal(resolved.resolved[0].rule, 'KeywardenNoTtlKeys');
      assert.equal(events('KeywardenNoTtlKeys').filter((e) => e.event === 'firing').length, 1);
      assert.equal(events('KeywardenNoTtlKeys').filter((e) => e.event === 'resolved').length, 1);
      assert.ok(!hook.received.some((r) => JSON.stringify(r.body).includes('secret-token-in-path')));
      assert.ok(!w.logs.join('').includes('secret-token-in-path'), 'the webhook URL path (a secret for Slack) is never logged');
    } finally {
      await w.stop();
      c.disconnect();
      await server.stop();
    }
  });

  it('memoryUsedRatio and evictions fire under pressure and resolve after it', async () => {
    const server = await startRedis({ config: { maxmemory: '3mb', 'maxmemory-policy': 'allkeys-lru' } });
    const c = server.client();
    const w = await watch(server.url, { policy: policy({ memoryUsedRatio: 0.8, evictions: true }), alertWebhook: hook.url, evictionWindowMs: 1000 });
    try {
      await seed(c, 'blob', 4000, { size: 1000 }); // ~4 MB into 3 MB: evicts
      await waitFor('memory and eviction alerts', () => events('KeywardenMemoryUsedRatio').length > 0 && events('KeywardenEvictions').length > 0);
      assert.match(events('KeywardenEvictions')[0].alert.summary, /evicted \d+ keys .*allkeys-lru/);
      assert.equal(events('KeywardenMemoryUsedRatio')[0].alert.labels.node, `127.0.0.1:${server.port}`);
      await c.config('SET', 'maxmemory', '100mb');
      await waitFor(
        'both resolved',
        () => events('KeywardenMemoryUsedRatio').some((e) => e.status === 'resolved') && events('KeywardenEvictions').some((e) => e.status === 'resolved'),
        10_000,
      );
    } finally {
      await w.stop();
      c.disconnect();
      await server.stop();
    }
  });

  it('noTtlGrowth names the pattern that keeps growing without TTL', async () => {
    const server = await startRedis();
    const c = server.client();
    await seed(c, 'stable', 200);
    const w = await watch(server.url, { policy: policy({ noTtlGrowth: { window: 3000, minIncrease: 100 } }), alertWebhook: hook.url });
    try {
      await w.nextPass();
      await w.nextPass();
      await seed(c, 'ratelimit', 150); // INCR then a crash before EXPIRE, 150 times
      await waitFor('the growth alert', () => events('KeywardenNoTtlGrowth').length > 0);
      const fired = events('KeywardenNoTtlGrowth');
      assert.deepEqual(
        fired.map((e) => e.alert.labels.pattern),
        ['ratelimit:*'],
      );
      assert.match(fired[0].alert.summary, /^ratelimit:\*: 150 more keys without TTL within 3s/);
      await waitFor('resolved once the window has passed', () => events('KeywardenNoTtlGrowth').some((e) => e.status === 'resolved'), 10_000);
    } finally {
      await w.stop();
      c.disconnect();
      await server.stop();
    }
  });

  it('timeToFull forecasts from the used-memory trend', async () => {
    const server = await startRedis({ config: { maxmemory: '200mb' } });
    const c = server.client();
    const w = await watch(server.url, { policy: policy({ timeToFullMs: 3_600_000 }), alertWebhook: hook.url, forecastWindowMs: 2500, intervalMs: 60_000 });
    try {
      for (let i = 0; i < 12; i++) {
        await seed(c, `grow${i}`, 500, { size: 1000 }); // ~0.6 MB per 200 ms
        await new Promise((r) => setTimeout(r, 200));
      }
      await waitFor('the forecast alert', () => events('KeywardenTimeToFull').length > 0);
      const fired = events('KeywardenTimeToFull')[0];
      assert.ok(fired.alert.value > 0 && fired.alert.value < 3600, `forecast ${fired.alert.value} s`);
      const metrics = (await get(`${w.url}/metrics`)).body;
      assert.match(metrics, /keywarden_memory_time_to_full_seconds\{node="127\.0\.0\.1:\d+"\} \d/);
      await waitFor('resolved once memory is flat', () => events('KeywardenTimeToFull').some((e) => e.status === 'resolved'), 10_000);
    } finally {
      await w.stop();
      c.disconnect();
      await server.stop();
    }
  });

  it("doctor's critical findings fire and resolve, in Slack format", async () => {
    const slack = await webhookReceiver();
    const server = await startRedis({ config: { maxmemory: '50mb', 'maxmemory-policy': 'volatile-lru' } });
    const c = server.client();
    await seed(c, 'session', 200);
    const w = await watch(server.url, { alertWebhook: slack.url, alertFormat: 'slack', doctorIntervalMs: 500, intervalMs: 60_000 });
    try {
      const texts = () => slack.received.map((r) => (r.body as { text: string }).text);
      await waitFor('the doctor alert', () => texts().find((t) => t.includes('KeywardenDoctorCritical')));
      const text = texts().find((t) => t.includes('KeywardenDoctorCritical')) ?? '';
      assert.match(text, /^:rotating_light: \[FIRING\] \*KeywardenDoctorCritical\* \(critical\) on redis:\/\/127\.0\.0\.1:\d+\nvolatile-\* eviction policy/);
      assert.match(text, /<http:\/\/127\.0\.0\.1:\d+\/\|dashboard>$/);
      const state = JSON.parse((await get(`${w.url}/api/state`)).body) as { doctor: { findings: Array<{ id: string }> } };
      assert.ok(state.doctor.findings.some((f) => f.id === 'volatile-policy-without-ttls'));
      await c.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await waitFor('resolved', () => texts().some((t) => t.startsWith(':white_check_mark: [RESOLVED] *KeywardenDoctorCritical*')), 15_000);
    } finally {
      await w.stop();
      c.disconnect();
      await server.stop();
      await slack.close();
    }
  });

  it('KeywardenDown fires when the server dies and resolves after reconnecting', async () => {
    const server = await startRedis();
    const w = await watch(server.url, { alertWebhook: hook.url, reconnect: { minMs: 100, maxMs: 300 } });
    try {
      await w.nextPass();
      await server.restart();
      await waitFor('down and back', () => events('KeywardenDown').some((e) => e.status === 'resolved'), 15_000);
      assert.equal(events('KeywardenDown')[0].status, 'firing');
    } finally {
      await w.stop();
      await server.stop();
    }
  });

  it(
    'KeywardenDown fires when the server stops answering without closing the connection, and resolves when it answers again',
    { timeout: 40_000 },
    async () => {
      // SIGSTOP: the kernel keeps the socket open, so only the reply timeout can tell.
      const server = await startRedis();
      const w = await watch(server.url, { target: resolveTarget({ url: server.url, replyTimeoutMs: 500 }, {}), alertWebhook: hook.url });
      const before = events('KeywardenDown').length;
      try {
        await w.nextPass();
        server.process.kill('SIGSTOP');
        await waitFor('the firing webhook', () => events('KeywardenDown').length > before, 10_000);
        await waitFor('the failed pass in the log', () => w.logs.some((l) => l.includes('stopped answering: no reply within 500ms')), 10_000);
        const metrics = (await get(`${w.url}/metrics`)).body;
        assert.match(metrics, /^keywarden_up\{node="[^"]+"\} 0$/m, 'scrapes still answer, and say the node is down');
        server.process.kill('SIGCONT');
        await waitFor(
          'the resolved webhook',
          () =>
            events('KeywardenDown')
              .slice(before)
              .some((e) => e.status === 'resolved'),
          15_000,
        );
        await w.nextPass();
      } finally {
        server.process.kill('SIGCONT');
        await w.stop();
        await server.stop();
      }
    },
  );
});
