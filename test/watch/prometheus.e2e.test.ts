/**
 * The Prometheus side for real: promtool checks the shipped rules (and their unit tests), a
 * real Prometheus scrapes `keywarden watch`, loads the rules, sees the per-pattern figures,
 * puts KeywardenNoTtlKeys in pending on real data, and runs every query of the Grafana
 * dashboard without error.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';
import { requireTool, seed, waitFor, watch, type TestWatch } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RULES = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const GRAFANA = join(ROOT, 'deploy', 'grafana', 'keywarden.json');

interface PromResponse<T> {
  status: string;
  data: T;
  error?: string;
}

describe('Prometheus end to end', () => {
  let server: RedisServer;
  let w: TestWatch;
  let prometheus: ChildProcess;
  let dir: string;
  let promUrl: string;
  let promLog = '';

  const api = async <T>(path: string): Promise<PromResponse<T>> => (await (await fetch(`${promUrl}${path}`)).json()) as PromResponse<T>;
  const query = (q: string) =>
    api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(q)}`);

  before(async () => {
    requireTool('promtool', 'prometheus');
    requireTool('prometheus', 'prometheus');
    server = await startRedis();
    const c = server.client();
    await seed(c, 'session', 1200);
    await seed(c, 'cache', 300, { ttl: 3600 });
    c.disconnect();
    w = await watch(server.url);
    await w.nextPass();

    dir = mkdtempSync(join(tmpdir(), 'keywarden-prom-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const watchTarget = new URL(w.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(RULES)}]`,
        'scrape_configs:',
        '  - job_name: keywarden',
        `    static_configs: [{ targets: [${JSON.stringify(watchTarget)}] }]`,
      ].join('\n'),
    );
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    prometheus.stderr?.on('data', (d: Buffer) => (promLog += d.toString()));
    await waitFor(`Prometheus ready (log: ${promLog})`, async () => (await fetch(`${promUrl}/-/ready`)).ok, 30_000, 200);
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await w?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('promtool accepts the shipped alert rules, and their unit tests pass', () => {
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    const unit = spawnSync('promtool', ['test', 'rules', 'prometheus-rules.test.yml'], { cwd: import.meta.dirname, encoding: 'utf8' });
    assert.equal(unit.status, 0, `${unit.stdout}${unit.stderr}`);
  });

  it('scrapes watch, sees the per-pattern figures, and evaluates the rules on them', async () => {
    const targets = await waitFor(
      'a healthy scrape',
      async () => {
        const t = await api<{ activeTargets: Array<{ health: string; lastError: string; labels: Record<string, string> }> }>('/api/v1/targets');
        return t.data.activeTargets.find((x) => x.labels.job === 'keywarden' && x.health === 'up');
      },
      30_000,
      250,
    );
    assert.equal(targets.lastError, '');
    const sessions = await waitFor(
      'session:* in Prometheus',
      async () => (await query('keywarden_pattern_no_ttl_keys{pattern="session:*"}')).data.result[0],
      30_000,
      250,
    );
    assert.equal(sessions.value[1], '1200');
    assert.equal(sessions.metric.node, `127.0.0.1:${server.port}`);
    const live = await query('sum(keywarden_db_keys - keywarden_db_expiring_keys)');
    assert.equal(live.data.result[0].value[1], '1200');

    const rules = await waitFor(
      'rules evaluated',
      async () => {
        const r = await api<{ groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; state?: string }> }> }>('/api/v1/rules');
        const all = r.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((x) => x.health === 'ok') ? all : undefined;
      },
      30_000,
      250,
    );
    assert.equal(rules.length, 11, 'every rule of deploy/prometheus/alerts.yml, KeywardenScanFailing and KeywardenEnforceFailing included');
    const pending = await waitFor(
      'KeywardenNoTtlKeys pending',
      async () => {
        const a = await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('/api/v1/alerts');
        return a.data.alerts.find((x) => x.labels.alertname === 'KeywardenNoTtlKeys');
      },
      30_000,
      250,
    );
    assert.equal(pending.state, 'pending', '1200 keys without TTL > 1000, waiting out for: 1m');
  });

  it('runs every query of the Grafana dashboard without error', async () => {
    const dashboard = JSON.parse(readFileSync(GRAFANA, 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
      templating: { list: Array<{ name: string; definition?: string }> };
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr.replace(/\$instance|\$node/g, '.*') })));
    assert.ok(exprs.length >= 20);
    for (const { title, expr } of exprs) {
      const r = await query(expr);
      assert.equal(r.status, 'success', `${title}: ${expr}: ${r.error}`);
    }
    const withData = await query(exprs.find((e) => e.title === 'Top patterns without TTL (keys)')?.expr ?? '');
    assert.deepEqual(Object.fromEntries(withData.data.result.map((r) => [r.metric.pattern, r.value[1]])), { 'session:*': '1200', 'cache:*': '0' });
  });
});
