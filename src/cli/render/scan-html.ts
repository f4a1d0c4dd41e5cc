/**
 * The scan report as one self-contained HTML file that opens offline: Chart.js is inlined,
 * the report is embedded as JSON, and the page builds its tables with textContent only, so
 * a key named `<img src=x onerror=alert(1)>` is shown as text, never parsed as markup.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { displayPattern } from '../../display.js';
import type { ScanReport } from '../../keyspace/report.js';
import { BIG_KEY, EXPIRY_CLUSTER_KEYS } from '../../keyspace/thresholds.js';
import { unitsSource } from '../../units.js';

/** Chart.js's UMD build, read from the installed package (no CDN: reports open offline). */
export function chartJsSource(): string {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
}

/** JSON that is safe inside a <script> element: no `<`, and no line separators. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The report with pattern names in their display form: textContent keeps markup inert, but
 * a bidi override or a zero-width character in a pattern would still reorder or hide what
 * the reader sees (keys and examples are already escaped by `displayKey`).
 */
function forDisplay(report: ScanReport): ScanReport {
  return {
    ...report,
    patterns: report.patterns.map((p) => ({ ...p, pattern: displayPattern(p.pattern) })),
    expiryClusters: report.expiryClusters.map((c) => ({ ...c, topPattern: displayPattern(c.topPattern) })),
  };
}

/** Render a ScanReport as a standalone HTML document. */
export function renderScanHtml(report: ScanReport): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>keywarden scan report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.muted{color:#667} .warn{background:#fff4d6;border-left:4px solid #e0a800;padding:6px 10px;margin:8px 0}
.bad{color:#b42318;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff} th,td{padding:4px 8px;border-bottom:1px solid #e6e8eb;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums} code{font:12px ui-monospace,monospace;word-break:break-all}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px} .card{background:#fff;padding:12px;border:1px solid #e6e8eb;border-radius:6px}
</style></head>
<body>
<h1>keywarden scan</h1>
<div id="summary" class="muted"></div>
<div id="notes"></div>
<div class="charts">
<div class="card"><h2>Memory by pattern (no TTL vs with TTL)</h2><canvas id="bytesChart" height="260"></canvas></div>
<div class="card"><h2>TTL distribution (keys)</h2><canvas id="ttlChart" height="260"></canvas></div>
</div>
<h2>Patterns</h2><table id="patterns"></table>
<h2>Biggest keys</h2><div id="bigkeysNote" class="muted"></div><table id="bigkeys"></table>
<h2>Keys expiring in the same second</h2><div id="clustersNote" class="muted"></div><table id="clusters"></table>
<script id="report" type="application/json">${scriptSafeJson(forDisplay(report))}</script>
<script>${chartJsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** Runs in the browser. Builds every element with textContent: report data is never markup. */
const PAGE_SCRIPT = `
(function () {
  var r = JSON.parse(document.getElementById('report').textContent);
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; }
  // The formatters of every other output (src/units.ts), so the page and the terminal agree.
  ${unitsSource()}
  var bytes = formatBytes, ttl = formatTtl, count = formatCount;
  // Axis ticks at round sizes in the unit shown (1, 2 or 5 × a power of ten, in B, KiB, MiB…).
  function byteTicks(axis) {
    var max = axis.max; if (!(max > 0)) return;
    var unit = 1; while (max / unit >= 1024) unit *= 1024;
    var raw = max / unit / 5, mag = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / mag;
    var step = Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag * unit);
    var top = Math.ceil(max / step) * step, ticks = [];
    for (var i = 0; i * step <= top; i++) ticks.push({ value: i * step });
    axis.max = top; axis.ticks = ticks;
  }
  function pct(a, b) { return b > 0 ? Math.round(100 * a / b) + '%' : '0%'; }
  function table(id, head, rows, numeric) {
    var t = document.getElementById(id), tr = el('tr');
    head.forEach(function (h, i) { tr.appendChild(el('th', h, numeric[i] ? 'n' : '')); });
    t.appendChild(tr);
    rows.forEach(function (row) { var tr = el('tr'); row.forEach(function (c, i) { var td = el('td', undefined, numeric[i] ? 'n' : ''); if (c && c.code !== undefined) td.appendChild(el('code', c.code)); else td.textContent = c; tr.appendChild(td); }); t.appendChild(tr); });
  }
  var t = r.totals, cov = r.coverage, est = cov.sampled ? '~' : '';
  document.getElementById('summary').textContent = r.target.url + ' · ' + r.target.mode + ' · Redis ' + r.target.redisVersion + ' · ' + est + count(t.keys) + ' keys · ' + est + bytes(t.bytes) + ' · ' + pct(t.noTtlBytes, t.bytes) + ' of bytes without TTL' + (r.takenAt ? ' · taken ' + r.takenAt.replace('T', ' ').replace(/\\.\\d+Z$|Z$/, '') + ' UTC' : '');
  var notes = document.getElementById('notes');
  if (cov.sampled) notes.appendChild(el('div', 'Sampled: ' + count(cov.keysSeen) + ' of ' + count(cov.dbsize) + ' keys read. Figures are estimates (95% intervals shown in the table).', 'warn'));
  if (cov.interrupted) notes.appendChild(el('div', 'Incomplete: ' + cov.interrupted + ' after ' + count(cov.keysSeen) + ' keys.', 'warn'));
  if (cov.unmeasured.length) notes.appendChild(el('div', 'Not measured (missing permission): ' + cov.unmeasured.join(', '), 'warn'));
  if (cov.goneDuringScan) notes.appendChild(el('div', count(cov.goneDuringScan) + (cov.goneDuringScan === 1 ? ' key' : ' keys') + ' fewer than DBSIZE counted at the start: expired or deleted while the scan ran.', 'muted'));
  if (cov.keysRead !== undefined) notes.appendChild(el('div', count(cov.keysSeen) + ' keys matched of ' + count(cov.keysRead) + ' read (' + count(cov.keysPerSecond) + ' keys read/s).', 'muted'));
  var policy = r.policy !== undefined;
  table('patterns', ['Pattern', 'Keys', 'Bytes', 'Share of all bytes', 'No-TTL keys', 'No-TTL bytes', 'Types', 'Examples'].concat(policy ? ['Policy rule'] : []),
    r.patterns.map(function (p) { return [{ code: p.pattern }, est + count(p.keys) + (p.ci ? ' (' + count(p.ci.keys[0]) + '–' + count(p.ci.keys[1]) + ')' : ''), est + bytes(p.bytes) + (p.ci ? ' (' + bytes(p.ci.bytes[0]) + '–' + bytes(p.ci.bytes[1]) + ')' : ''), pct(p.bytes, t.bytes), count(p.noTtlKeys), bytes(p.noTtlBytes), Object.keys(p.types).join(', '), { code: p.examples.join('  ') }].concat(policy ? [p.rule ? p.rule.match + (p.violations ? ' (' + count(p.violations) + ' violate)' : '') : '(none)'] : []); }),
    [0, 1, 1, 1, 1, 1, 0, 0, 0]);
  var th = r.thresholds || { bigKeyBytes: ${BIG_KEY.bytes}, bigKeyElements: ${BIG_KEY.elements}, expiryClusterKeys: ${EXPIRY_CLUSTER_KEYS} };
  function isBig(k) { return k.bytes >= th.bigKeyBytes || k.length >= th.bigKeyElements; }
  document.getElementById('bigkeysNote').textContent = 'Big: ' + bytes(th.bigKeyBytes) + ' or ' + count(th.bigKeyElements) + ' elements or more.';
  document.getElementById('clustersNote').textContent = 'Seconds in which ' + count(th.expiryClusterKeys) + ' keys or more expire together.';
  if (cov.sampled && cov.caveat) ['bigkeysNote', 'clustersNote'].forEach(function (id) { document.getElementById(id).after(el('div', cov.caveat, 'warn')); });
  table('bigkeys', ['Key', 'Type', 'Bytes', 'Length', 'TTL', 'Node', 'Big'], r.bigKeys.map(function (k) { return [{ code: k.key }, k.type, bytes(k.bytes), k.length >= 0 ? count(k.length) : '', ttl(k.ttlMs), k.node, isBig(k) ? 'big' : '']; }), [0, 0, 1, 1, 1, 0, 0]);
  table('clusters', ['Second (UTC)', 'Keys', 'Mostly'], r.expiryClusters.map(function (x) { return [new Date(x.second * 1000).toISOString(), est + count(x.keys), { code: x.topPattern }]; }), [0, 1, 0]);
  if (typeof Chart === 'undefined') return;
  var top = r.patterns.slice(0, 15);
  new Chart(document.getElementById('bytesChart'), { type: 'bar', data: { labels: top.map(function (p) { return p.pattern; }),
    datasets: [{ label: 'no TTL', data: top.map(function (p) { return p.noTtlBytes; }), backgroundColor: '#d92d20' }, { label: 'with TTL', data: top.map(function (p) { return p.bytes - p.noTtlBytes; }), backgroundColor: '#2e90fa' }] },
    options: { indexAxis: 'y', animation: false, scales: { x: { stacked: true, afterBuildTicks: byteTicks, ticks: { callback: function (v) { return bytes(v); } } }, y: { stacked: true } } } });
  var buckets = ['none', 'lt1m', 'lt1h', 'lt1d', 'lt7d', 'ge7d'], labels = ['no TTL', '< 1 min', '< 1 hour', '< 1 day', '< 7 days', '>= 7 days'];
  var sums = buckets.map(function (b) { return r.patterns.reduce(function (s, p) { return s + p.ttl[b]; }, 0); });
  new Chart(document.getElementById('ttlChart'), { type: 'bar', data: { labels: labels, datasets: [{ label: 'keys', data: sums, backgroundColor: ['#d92d20', '#fdb022', '#fdb022', '#32d583', '#32d583', '#2e90fa'] }] }, options: { animation: false, plugins: { legend: { display: false } } } });
})();
`;
