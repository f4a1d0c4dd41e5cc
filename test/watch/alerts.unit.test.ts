/**
 * The pure parts of watch, table-driven and without a server: the time-to-full fit, eviction
 * counting across restarts, each alert rule on hand-built state, the fire/repeat/resolve
 * engine, figure folding and bounding, and the webhook payloads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertEngine, type AlertEvent } from '../../src/watch/alerts/engine.js';
import { ALERT_RULES, evictionsIn } from '../../src/watch/alerts/rules.js';
import type { AlertContext, AlertRecord } from '../../src/watch/alerts/types.js';
import { jsonPayload, slackPayload } from '../../src/watch/alerts/webhook.js';
import { boundPerNode, mergeFigures, type PatternFigures } from '../../src/watch/figures.js';
import { forecastFull } from '../../src/watch/forecast.js';
import { statsFromInfo, type NodeStats } from '../../src/watch/node-stats.js';

const MB = 1024 * 1024;

describe('forecastFull', () => {
  const line = (n: number, perSecond: number, max: number, start = 100 * MB) =>
    Array.from({ length: n }, (_, i) => ({ t: 1_000_000 + i * 10_000, used: start + perSecond * i * 10, max }));
  const cases: Array<{ name: string; samples: ReturnType<typeof line>; expect: { ttfS?: number; undefinedForecast?: boolean } }> = [
    { name: 'steady growth reaches the limit', samples: line(10, 100_000, 200 * MB), expect: { ttfS: (200 * MB - (100 * MB + 100_000 * 90)) / 100_000 } },
    { name: 'flat memory never fills', samples: line(10, 0, 200 * MB), expect: {} },
    { name: 'shrinking memory never fills', samples: line(10, -50_000, 200 * MB), expect: {} },
    { name: 'no maxmemory: no time to full', samples: line(10, 100_000, 0), expect: {} },
    { name: 'allocator drift below 1 MB is not a trend', samples: line(10, 500, 200 * MB), expect: {} },
    { name: 'too few samples', samples: line(3, 100_000, 200 * MB), expect: { undefinedForecast: true } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const now = c.samples[c.samples.length - 1].t;
      const f = forecastFull(c.samples, now, { windowMs: 3_600_000 });
      if (c.expect.undefinedForecast) return assert.equal(f, undefined);
      assert.ok(f);
      if (c.expect.ttfS === undefined) return assert.equal(f.timeToFullMs, undefined);
      assert.ok(Math.abs((f.timeToFullMs ?? 0) / 1000 - c.expect.ttfS) < 1, `${f.timeToFullMs} vs ${c.expect.ttfS * 1000}`);
    });
  }
  it('fits only the window', () => {
    const old = line(10, 1_000_000, 200 * MB);
    const recentFlat = Array.from({ length: 10 }, (_, i) => ({ t: 2_000_000 + i * 1000, used: 150 * MB, max: 200 * MB }));
    const f = forecastFull([...old, ...recentFlat], 2_009_000, { windowMs: 60_000 });
    assert.equal(f?.timeToFullMs, undefined);
    assert.equal(f?.samples, 10);
  });
});

describe('evictionsIn', () => {
  it('sums increases and survives a counter reset', () => {
    const s = [
      { t: 0, evicted: 10 },
      { t: 1, evicted: 15 },
      { t: 2, evicted: 3 }, // server restarted: 3 new evictions
      { t: 3, evicted: 3 },
    ];
    assert.equal(evictionsIn(s, 0), 8);
    assert.equal(evictionsIn(s, 3), 0);
  });
});

function stats(over: Partial<NodeStats> = {}): NodeStats {
  return { ...statsFromInfo('n1:6379', 'master', 'role:master\r\nrun_id:x\r\n'), ...over };
}

function ctx(over: Partial<AlertContext> = {}): AlertContext {
  return {
    now: 100_000,
    thresholds: {},
    stats: [],
    nodeUp: new Map([['n1:6379', true]]),
    knownNodes: ['n1:6379'],
    history: {},
    patternHistory: [],
    forecasts: new Map(),
    evictionWindowMs: 60_000,
    ...over,
  };
}

const rule = (name: string) => {
  const r = ALERT_RULES.find((x) => x.name === name);
  if (!r) throw new Error(name);
  return r;
};

describe('alert rules', () => {
  const table: Array<{ rule: string; ctx: AlertContext; fires: Array<Record<string, string>> }> = [
    { rule: 'KeywardenDown', ctx: ctx(), fires: [] },
    { rule: 'KeywardenDown', ctx: ctx({ nodeUp: new Map([['n1:6379', false]]) }), fires: [{ node: 'n1:6379' }] },
    { rule: 'KeywardenNoTtlKeys', ctx: ctx({ stats: [stats({ dbs: [{ db: 0, keys: 500, expires: 100 }] })] }), fires: [] },
    { rule: 'KeywardenNoTtlKeys', ctx: ctx({ thresholds: { noTtlKeys: 400 }, stats: [stats({ dbs: [{ db: 0, keys: 500, expires: 100 }] })] }), fires: [] },
    { rule: 'KeywardenNoTtlKeys', ctx: ctx({ thresholds: { noTtlKeys: 399 }, stats: [stats({ dbs: [{ db: 0, keys: 500, expires: 100 }] })] }), fires: [{}] },
    {
      rule: 'KeywardenNoTtlKeys',
      ctx: ctx({ thresholds: { noTtlKeys: 399 }, db: 1, stats: [stats({ dbs: [{ db: 0, keys: 500, expires: 100 }] })] }),
      fires: [],
    },
    { rule: 'KeywardenMemoryUsedRatio', ctx: ctx({ thresholds: { memoryUsedRatio: 0.8 }, stats: [stats({ usedMemory: 79, maxMemory: 100 })] }), fires: [] },
    {
      rule: 'KeywardenMemoryUsedRatio',
      ctx: ctx({ thresholds: { memoryUsedRatio: 0.8 }, stats: [stats({ usedMemory: 80, maxMemory: 100 })] }),
      fires: [{ node: 'n1:6379' }],
    },
    { rule: 'KeywardenMemoryUsedRatio', ctx: ctx({ thresholds: { memoryUsedRatio: 0.8 }, stats: [stats({ usedMemory: 80, maxMemory: 0 })] }), fires: [] },
    {
      rule: 'KeywardenEvictions',
      ctx: ctx({
        thresholds: { evictions: true },
        history: {
          'n1:6379': [
            { t: 10_000, used: 0, max: 0, evicted: 0 },
            { t: 90_000, used: 0, max: 0, evicted: 5 },
          ],
        },
      }),
      fires: [{ node: 'n1:6379' }],
    },
    {
      rule: 'KeywardenEvictions',
      ctx: ctx({
        thresholds: { evictions: true },
        history: {
          'n1:6379': [
            { t: 10_000, used: 0, max: 0, evicted: 0 },
            { t: 20_000, used: 0, max: 0, evicted: 5 },
            { t: 90_000, used: 0, max: 0, evicted: 5 },
          ],
        },
      }),
      fires: [],
    },
    {
      rule: 'KeywardenNoTtlGrowth',
      ctx: ctx({
        thresholds: { noTtlGrowth: { window: 60_000, minIncrease: 100 } },
        patternHistory: [
          { t: 50_000, noTtl: { 'a:*': 10, 'b:*': 10 } },
          { t: 100_000, noTtl: { 'a:*': 110, 'b:*': 100 } },
        ],
      }),
      fires: [{ pattern: 'a:*' }],
    },
    {
      rule: 'KeywardenNoTtlGrowth',
      ctx: ctx({
        thresholds: { noTtlGrowth: { window: 60_000, minIncrease: 100 } },
        patternHistory: [
          { t: 10_000, noTtl: { 'a:*': 0 } },
          { t: 100_000, noTtl: { 'a:*': 500 } },
        ],
      }),
      fires: [],
    },
    {
      rule: 'KeywardenNoTtlGrowth',
      ctx: ctx({
        thresholds: { noTtlGrowth: { window: 60_000, minIncrease: 100 } },
        patternHistory: [
          { t: 50_000, noTtl: {} },
          { t: 100_000, noTtl: { 'new:*': 100 } },
        ],
      }),
      fires: [{ pattern: 'new:*' }],
    },
    {
      rule: 'KeywardenTimeToFull',
      ctx: ctx({
        thresholds: { timeToFullMs: 3_600_000 },
        forecasts: new Map([['n1:6379', { bytesPerSecond: 10, fittedUsed: 0, samples: 9, timeToFullMs: 600_000 }]]),
      }),
      fires: [{ node: 'n1:6379' }],
    },
    {
      rule: 'KeywardenTimeToFull',
      ctx: ctx({
        thresholds: { timeToFullMs: 3_600_000 },
        forecasts: new Map([['n1:6379', { bytesPerSecond: 10, fittedUsed: 0, samples: 9, timeToFullMs: 7_200_000 }]]),
      }),
      fires: [],
    },
    {
      rule: 'KeywardenTimeToFull',
      ctx: ctx({ forecasts: new Map([['n1:6379', { bytesPerSecond: 10, fittedUsed: 0, samples: 9, timeToFullMs: 1 }]]) }),
      fires: [],
    },
  ];
  for (const [i, c] of table.entries()) {
    it(`${c.rule} #${i}: ${c.fires.length > 0 ? 'fires' : 'quiet'}`, () => {
      assert.deepEqual(
        rule(c.rule)
          .evaluate(c.ctx)
          .map((a) => a.labels),
        c.fires,
      );
    });
  }

  it('KeywardenNoTtlKeys names the patterns most likely to blame', () => {
    const f = (pattern: string, noTtlKeys: number): PatternFigures => ({
      pattern,
      keys: noTtlKeys,
      bytes: 1,
      noTtlKeys,
      noTtlBytes: 1,
      violations: 0,
      ttl: [0, 0, 0, 0, 0, 0],
      examples: [],
    });
    const published = { startedAt: 0, completedAt: 0, durationMs: 0, keysSeen: 0, nodes: { 'n1:6379': [f('session:*', 900), f('cache:*', 10)] } };
    const [alert] = rule('KeywardenNoTtlKeys').evaluate(ctx({ thresholds: { noTtlKeys: 100 }, published }));
    assert.match(alert.summary, /^910 keys have no TTL \(threshold 100\); most without TTL: session:\* \(900\), cache:\* \(10\)$/);
  });

  it('KeywardenDoctorCritical raises one alert per critical finding', () => {
    const finding = (id: string, severity: 'critical' | 'warning') => ({
      id,
      severity,
      title: id,
      detail: 'd',
      evidence: {},
      why: '',
      fix: [],
      node: 'n1:6379',
    });
    const doctor = {
      kind: 'keywarden.doctor',
      schemaVersion: 1,
      target: { nodes: [] },
      findings: [finding('a', 'critical'), finding('b', 'warning')],
      skipped: [],
      summary: { critical: 1, warning: 1, info: 0 },
    } as const;
    assert.deepEqual(
      rule('KeywardenDoctorCritical')
        .evaluate(ctx({ doctor: structuredClone(doctor) as unknown as AlertContext['doctor'] }))
        .map((a) => a.labels),
      [{ finding: 'a', node: 'n1:6379' }],
    );
  });
});

describe('AlertEngine', () => {
  it('fires once, repeats after the interval, resolves once', () => {
    const sent: Array<[string, AlertEvent]> = [];
    const firing: AlertRecord[] = [];
    const engine = new AlertEngine(firing, { rules: [rule('KeywardenMemoryUsedRatio')], repeatIntervalMs: 1000, notify: (a, e) => sent.push([a.id, e]) });
    const hot = (now: number) => ctx({ now, thresholds: { memoryUsedRatio: 0.5 }, stats: [stats({ usedMemory: 90, maxMemory: 100 })] });
    engine.evaluate(hot(0));
    engine.evaluate(hot(500));
    engine.evaluate(hot(999));
    assert.deepEqual(sent, [['KeywardenMemoryUsedRatio{node=n1:6379}', 'firing']]);
    engine.evaluate(hot(1000));
    assert.deepEqual(sent.at(-1), ['KeywardenMemoryUsedRatio{node=n1:6379}', 'repeat']);
    assert.equal(firing.length, 1, 'the persisted list holds the firing alert');
    engine.evaluate(ctx({ now: 1500, thresholds: { memoryUsedRatio: 0.5 }, stats: [stats({ usedMemory: 10, maxMemory: 100 })] }));
    assert.deepEqual(sent.at(-1), ['KeywardenMemoryUsedRatio{node=n1:6379}', 'resolved']);
    assert.equal(sent.length, 3);
    assert.equal(engine.active().length, 0);
    assert.equal(engine.recentlyResolved()[0].endsAt, 1500);
  });

  it('an alert that fires before the first pass is sent again, once, when the pass names the top patterns', () => {
    const sent: Array<[AlertEvent, string]> = [];
    const engine = new AlertEngine([], {
      rules: [rule('KeywardenNoTtlKeys'), rule('KeywardenMemoryUsedRatio')],
      repeatIntervalMs: 3_600_000,
      notify: (a, e) => sent.push([e, a.summary]),
    });
    const f = (pattern: string, keys: number) => ({
      pattern,
      keys,
      bytes: keys,
      noTtlKeys: keys,
      noTtlBytes: keys,
      violations: 0,
      ttl: [keys, 0, 0, 0, 0, 0],
      examples: [],
    });
    const published = { startedAt: 0, completedAt: 0, durationMs: 0, keysSeen: 910, nodes: { 'n1:6379': [f('session:*', 900), f('cache:*', 10)] } };
    const base = {
      thresholds: { noTtlKeys: 100, memoryUsedRatio: 0.5 },
      stats: [stats({ usedMemory: 90, maxMemory: 100, dbs: [{ db: 0, keys: 910, expires: 0 }] })],
    };
    engine.evaluate(ctx({ ...base, now: 0 }));
    engine.evaluate(ctx({ ...base, now: 10 }));
    assert.deepEqual(
      sent.map(([e]) => e),
      ['firing', 'firing'],
      'memory does not wait for the pass',
    );
    assert.ok(
      sent.every(([, s]) => s.endsWith('; top patterns without TTL: after the first pass')),
      JSON.stringify(sent),
    );
    engine.evaluate(ctx({ ...base, now: 20, published }));
    engine.evaluate(ctx({ ...base, now: 30, published }));
    assert.equal(sent.length, 4, JSON.stringify(sent));
    for (const [e, s] of sent.slice(2)) {
      assert.equal(e, 'repeat');
      assert.match(s, /; most without TTL: session:\* \(900\), cache:\* \(10\)$/);
    }
  });

  it('takes up persisted alerts without paging again', () => {
    const sent: AlertEvent[] = [];
    const persisted: AlertRecord[] = [
      {
        id: 'KeywardenNoTtlKeys',
        rule: 'KeywardenNoTtlKeys',
        severity: 'warning',
        status: 'firing',
        labels: {},
        summary: 's',
        value: 5,
        threshold: 1,
        startsAt: 0,
        lastNotifiedAt: 900,
      },
    ];
    const engine = new AlertEngine(persisted, { rules: [rule('KeywardenNoTtlKeys')], repeatIntervalMs: 10_000, notify: (_a, e) => sent.push(e) });
    engine.evaluate(ctx({ now: 1000, thresholds: { noTtlKeys: 1 }, stats: [stats({ dbs: [{ db: 0, keys: 5, expires: 0 }] })] }));
    assert.deepEqual(sent, []);
  });
});

describe('figures', () => {
  const f = (pattern: string, bytes: number, keys = 1): PatternFigures => ({
    pattern,
    keys,
    bytes,
    noTtlKeys: keys,
    noTtlBytes: bytes,
    violations: 0,
    ttl: [keys, 0, 0, 0, 0, 0],
    examples: [`${pattern}-ex`],
  });
  it('merges by pattern and folds the tail into (other)', () => {
    const merged = mergeFigures(
      [
        [f('a', 10), f('b', 5)],
        [f('a', 10), f('c', 1)],
      ],
      1,
    );
    assert.deepEqual(
      merged.map((x) => [x.pattern, x.bytes, x.keys]),
      [
        ['a', 20, 2],
        ['(other)', 6, 2],
      ],
    );
  });
  it('bounds every node to the same top patterns', () => {
    const out = boundPerNode({ n1: [f('a', 10), f('b', 9), f('c', 1)], n2: [f('c', 100), f('d', 1)] }, 2);
    assert.deepEqual(Object.fromEntries(Object.entries(out).map(([n, l]) => [n, l.map((x) => x.pattern)])), {
      n1: ['a', '(other)', 'c'],
      n2: ['c', '(other)'],
    });
    const n1 = out.n1.reduce((s, x) => s + x.bytes, 0);
    assert.equal(n1, 20, 'nothing lost in folding');
  });
});

describe('webhook payloads', () => {
  const alert: AlertRecord = {
    id: 'KeywardenNoTtlGrowth{pattern=<img src=x onerror=alert(1)>}',
    rule: 'KeywardenNoTtlGrowth',
    severity: 'warning',
    status: 'firing',
    labels: { pattern: '<img src=x onerror=alert(1)>' },
    summary: '<img src=x onerror=alert(1)>: 500 more keys & growing',
    value: 500,
    threshold: 100,
    startsAt: 0,
  };
  it('generic JSON carries the alert as data', () => {
    const p = jsonPayload(alert, 'firing', 'redis://h:1') as { kind: string; alert: { labels: Record<string, string>; startsAt: string } };
    assert.equal(p.kind, 'keywarden.alert');
    assert.equal(p.alert.labels.pattern, '<img src=x onerror=alert(1)>');
    assert.equal(p.alert.startsAt, '1970-01-01T00:00:00.000Z');
  });
  it('Slack text escapes &, < and > so a key name cannot become a link or mention', () => {
    const p = slackPayload(alert, 'firing', 'redis://h:1', 'http://127.0.0.1:9121/') as { text: string };
    assert.match(p.text, /&lt;img src=x onerror=alert\(1\)&gt;: 500 more keys &amp; growing/);
    assert.ok(!p.text.includes('<img'));
    assert.match(p.text, /<http:\/\/127\.0\.0\.1:9121\/\|dashboard>/);
  });
});
