// keywarden watch dashboard. Read-only. Key names and patterns are data: they only ever reach
// the page through textContent (never innerHTML), and the page's CSP forbids inline script.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const TTL_NAMES = { none: 'no TTL', lt1m: '< 1 min', lt1h: '< 1 h', lt1d: '< 1 day', lt7d: '< 7 days', ge7d: '≥ 7 days' };
  const charts = {};
  window.__keywardenRendered = 0;

  // The formatters are src/units.ts's, put before this file by the server (src/watch/http.ts).
  /* global formatBytes, formatCount, formatRoughDuration */
  const bytes = (n) => (n === undefined || n === null ? '–' : n < 0 ? `-${formatBytes(-n)}` : formatBytes(n));
  const int = (n) => (n === undefined || n === null ? '–' : formatCount(Number(n)));
  const duration = (ms) => (ms === undefined || ms === null ? '–' : formatRoughDuration(ms));
  const ago = (t) => (t ? `${duration(Date.now() - t)} ago` : 'never');
  const clock = (t) => new Date(t).toLocaleTimeString('en-GB', { hour12: false });

  /** A table cell holding text only. */
  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function fillTable(table, rows, emptyId) {
    const body = table.tBodies[0];
    body.replaceChildren(...rows);
    $(emptyId).hidden = rows.length > 0;
    table.hidden = rows.length === 0;
  }

  function renderHeader(d) {
    $('target').textContent = d.target.url;
    const up = d.target.connected && d.nodes.every((n) => n.up);
    const status = $('status');
    status.textContent = up ? `up · ${d.target.mode ?? ''} · Redis ${d.target.redisVersion ?? '?'}` : `down: ${d.target.lastError ?? 'connecting'}`;
    status.className = `pill ${up ? 'ok' : 'down'}`;
    const s = d.scan;
    $('scan').textContent = s.running
      ? `scanning: ${(s.progressRatio * 100).toFixed(0)}% (${int(s.keysSeen)} keys) · last pass ${ago(s.lastCompleteAt)}`
      : `last pass ${ago(s.lastCompleteAt)}${s.durationMs !== undefined ? ` in ${duration(s.durationMs)}` : ''} · every ${d.settings.interval}`;
  }

  function renderCards(d) {
    $('c-keys').textContent = int(d.totals.keys);
    // One figure for keys without TTL: the servers' own count (INFO keyspace), the one alerts
    // use; the last pass's, which lags behind it, only until the servers have answered.
    const live = d.nodes.length > 0 && d.nodes.every((n) => n.noTtlKeys !== undefined && n.keys !== undefined);
    const noTtl = live ? d.nodes.reduce((a, n) => a + n.noTtlKeys, 0) : d.totals.noTtlKeys;
    const keys = live ? d.nodes.reduce((a, n) => a + n.keys, 0) : d.totals.keys;
    $('c-nottl').textContent = int(noTtl);
    const violations = d.patterns.reduce((a, p) => a + (p.violations ?? 0), 0);
    $('c-nottl-share').textContent = [
      keys > 0 ? `${((noTtl / keys) * 100).toFixed(1)}% of keys` : '',
      d.scan.lastCompleteAt ? `${bytes(d.totals.noTtlBytes)} in the last pass` : '',
      d.settings.policy ? `${int(violations)} break their policy rule` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    const used = d.nodes.reduce((a, n) => a + (n.usedMemory ?? 0), 0);
    const max = d.nodes.reduce((a, n) => a + (n.maxMemory ?? 0), 0);
    $('c-mem').textContent = bytes(used);
    $('c-mem-max').textContent = max > 0 ? `of ${bytes(max)} maxmemory (${((used / max) * 100).toFixed(1)}%)` : 'no maxmemory set';
    const ttfs = d.memory.map((m) => m.forecast && m.forecast.timeToFullMs).filter((x) => x !== undefined);
    const rate = d.memory.reduce((a, m) => a + (m.forecast ? m.forecast.bytesPerSecond : 0), 0);
    $('c-ttf').textContent = ttfs.length > 0 ? duration(Math.min(...ttfs)) : max > 0 ? 'not growing' : '–';
    $('c-ttf-rate').textContent = d.memory.some((m) => m.forecast) ? `${rate >= 0 ? '+' : ''}${bytes(rate * 3600)}/h` : 'collecting samples';
  }

  function renderAlerts(d) {
    const rows = d.alerts.firing.map((a) => {
      const tr = document.createElement('tr');
      tr.append(cell(a.severity, `sev ${a.severity}`), cell(a.rule), cell(a.summary, 'summary'), cell(ago(Date.parse(a.startsAt))));
      return tr;
    });
    $('alert-count').textContent = rows.length > 0 ? `(${rows.length})` : '';
    fillTable($('alerts'), rows, 'alerts-empty');
    // "No alert is firing" only once there was something to judge.
    $('alerts-empty').textContent = !d.target.connected
      ? `Not connected to the target yet${d.target.lastError ? ` (${d.target.lastError})` : ''}: no alert can be judged.`
      : d.scan.lastCompleteAt === undefined
        ? 'No alert is firing on the server figures so far; the first pass over the keyspace has not completed yet.'
        : 'No alert is firing.';
  }

  function renderPatterns(d) {
    const maxBytes = Math.max(1, ...d.patterns.map((p) => p.bytes));
    const rows = d.patterns.map((p) => {
      const tr = document.createElement('tr');
      const share = p.keys > 0 ? p.noTtlKeys / p.keys : 0;
      const shareCell = cell(`${(share * 100).toFixed(0)}%`, 'num');
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = `${Math.round(share * 60)}px`;
      shareCell.prepend(bar);
      tr.append(
        cell(p.pattern, 'key'),
        cell(int(p.keys), 'num'),
        cell(bytes(p.bytes), 'num'),
        cell(int(p.noTtlKeys), 'num'),
        shareCell,
        cell(d.settings.policy ? int(p.violations ?? 0) : '–', p.violations > 0 ? 'num bad' : 'num'),
        cell(p.examples.join('  '), 'examples'),
      );
      tr.title = `${((p.bytes / maxBytes) * 100).toFixed(0)}% of the biggest pattern`;
      return tr;
    });
    fillTable($('patterns'), rows, 'patterns-empty');
  }

  function renderFindings(d) {
    const list = $('findings');
    const items = (d.doctor ? d.doctor.findings : []).map((f) => {
      const li = document.createElement('li');
      const head = document.createElement('div');
      const sev = document.createElement('span');
      sev.className = `sev ${f.severity}`;
      sev.textContent = f.severity;
      const title = document.createElement('strong');
      title.textContent = ` ${f.title}`;
      head.append(sev, title);
      const detail = document.createElement('div');
      detail.textContent = `${f.detail}${f.node ? ` (${f.node})` : ''}`;
      const fix = document.createElement('div');
      fix.className = 'fix';
      fix.textContent = f.fix.join('\n');
      li.append(head, detail, fix);
      return li;
    });
    list.replaceChildren(...items);
    $('findings-empty').hidden = items.length > 0;
    $('findings-empty').textContent = d.doctor ? 'No finding.' : 'Doctor has not run yet.';
  }

  const GRID = { color: '#2a333d' };
  const TICKS = { color: '#8b96a3' };
  Chart.defaults.color = '#8b96a3';
  Chart.defaults.font.family = 'system-ui, sans-serif';

  function chart(id, config) {
    if (charts[id]) {
      charts[id].data = config.data;
      charts[id].update('none');
      return;
    }
    charts[id] = new Chart($(id), config);
  }

  function renderPatternChart(d) {
    const top = d.patterns.slice(0, 15);
    chart('chart-patterns', {
      type: 'bar',
      data: {
        labels: top.map((p) => p.pattern),
        datasets: [
          { label: 'bytes without TTL', data: top.map((p) => p.noTtlBytes), backgroundColor: '#f0a030' },
          { label: 'bytes with TTL', data: top.map((p) => p.bytes - p.noTtlBytes), backgroundColor: '#4da3ff' },
        ],
      },
      options: {
        indexAxis: 'y',
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { stacked: true, grid: GRID, ticks: { ...TICKS, callback: (v) => bytes(v) } }, y: { stacked: true, grid: GRID, ticks: TICKS } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${bytes(c.raw)}` } } },
      },
    });
  }

  function renderMemoryChart(d) {
    const palette = ['#4da3ff', '#3fb950', '#d2a8ff', '#ff7b72', '#ffa657', '#79c0ff'];
    const datasets = [];
    d.memory.forEach((m, i) => {
      const color = palette[i % palette.length];
      const suffix = d.memory.length > 1 ? ` ${m.node}` : '';
      datasets.push({
        label: `used${suffix}`,
        data: m.samples.map((s) => ({ x: s.t, y: s.used })),
        borderColor: color,
        backgroundColor: color,
        pointRadius: 0,
        borderWidth: 2,
      });
      const last = m.samples[m.samples.length - 1];
      if (last && last.max > 0) {
        datasets.push({
          label: `maxmemory${suffix}`,
          data: [
            { x: m.samples[0].t, y: last.max },
            { x: last.t + d.settings.forecastWindowMs / 4, y: last.max },
          ],
          borderColor: '#ff5a5f',
          borderDash: [6, 4],
          pointRadius: 0,
          borderWidth: 1.5,
        });
      }
      if (last && m.forecast && m.forecast.bytesPerSecond > 0) {
        const horizon =
          m.forecast.timeToFullMs !== undefined ? Math.min(m.forecast.timeToFullMs, d.settings.forecastWindowMs / 4) : d.settings.forecastWindowMs / 4;
        datasets.push({
          label: `forecast${suffix}`,
          data: [
            { x: last.t, y: m.forecast.fittedUsed },
            { x: last.t + horizon, y: m.forecast.fittedUsed + (m.forecast.bytesPerSecond * horizon) / 1000 },
          ],
          borderColor: '#f0a030',
          borderDash: [2, 3],
          pointRadius: 0,
          borderWidth: 2,
        });
      }
    });
    chart('chart-memory', {
      type: 'line',
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: true,
        scales: {
          x: { type: 'linear', grid: GRID, ticks: { ...TICKS, maxTicksLimit: 6, callback: (v) => clock(v) } },
          y: { beginAtZero: true, grid: GRID, ticks: { ...TICKS, callback: (v) => bytes(v) } },
        },
        plugins: {
          tooltip: { callbacks: { title: (items) => (items[0] ? clock(items[0].parsed.x) : ''), label: (c) => `${c.dataset.label}: ${bytes(c.parsed.y)}` } },
        },
      },
    });
  }

  function renderTtlChart(d) {
    chart('chart-ttl', {
      type: 'bar',
      data: {
        labels: d.ttl.map((b) => TTL_NAMES[b.bucket] ?? b.bucket),
        datasets: [{ label: 'keys', data: d.ttl.map((b) => b.keys), backgroundColor: d.ttl.map((b) => (b.bucket === 'none' ? '#f0a030' : '#4da3ff')) }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { grid: GRID, ticks: TICKS }, y: { beginAtZero: true, grid: GRID, ticks: TICKS } },
      },
    });
  }

  function render(d) {
    renderHeader(d);
    renderCards(d);
    renderAlerts(d);
    renderPatterns(d);
    renderFindings(d);
    renderPatternChart(d);
    renderMemoryChart(d);
    renderTtlChart(d);
    window.__keywardenRendered++;
  }

  async function refresh() {
    try {
      const res = await fetch('/api/state', { credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      render(await res.json());
    } catch (err) {
      $('status').textContent = `dashboard cannot load data: ${err.message}`;
      $('status').className = 'pill down';
    }
  }

  refresh();
  setInterval(refresh, 5000);
})();
