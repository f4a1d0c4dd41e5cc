/**
 * The watch daemon: three background loops over one supervised connection.
 * - scan: a resumable pass every `intervalMs` (pass.ts), under the scanner's latency guard;
 * - info: INFO every `infoIntervalMs` for server metrics, history, forecast and alerts;
 * - doctor: `diagnose` every `doctorIntervalMs`, for its critical findings.
 * HTTP only reads what they cache, so a scrape never causes work on Redis.
 */
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { diagnose } from '../doctor/index.js';
import { ConnectionError, isUserFacing, PermissionError, UsageError } from '../errors.js';
import type { Target } from '../target/connect.js';
import { isPermissionDenied, lostConnection, midRunFailure } from '../target/errors.js';
import { AlertEngine, type AlertEvent } from './alerts/engine.js';
import { ALERT_RULES } from './alerts/rules.js';
import type { AlertRecord } from './alerts/types.js';
import { createWebhookNotifier, type Notifier } from './alerts/webhook.js';
import { errorLine, sleep, TargetConnection } from './connection.js';
import { enforce, violationsIn } from './enforce.js';
import { forecastFull, type Forecast } from './forecast.js';
import { startHttp, type HttpHandle } from './http.js';
import { silentLogger, type WatchLogger } from './log.js';
import { createMetricsRegistry } from './metrics.js';
import { readNodeStats } from './node-stats.js';
import { DEFAULTS, type WatchOptions } from './options.js';
import { runPass } from './pass.js';
import { loadState, serializeState, writeStateText } from './state-file.js';
import { emptyLive, emptyPersisted, HISTORY_LIMIT, pushBounded, type PersistedState } from './state.js';
import type { WatchView } from './view.js';

export interface WatchHandle {
  /** Base URL of the HTTP server (`http://127.0.0.1:9121`). */
  url: string;
  /** Live, read-only view of the daemon's state (what /metrics and the dashboard show). */
  view: WatchView;
  /** Resolves after the next pass completes (for tests and library callers that wait for one). */
  nextPass(): Promise<void>;
  /** Stop scanning, save the checkpoint, deliver queued alerts, close HTTP and Redis. */
  stop(): Promise<void>;
}

export async function startDaemon(options: WatchOptions): Promise<WatchHandle> {
  const log = options.logger ?? silentLogger;
  const o = { ...DEFAULTS, ...definedOnly(options) };
  const display = options.target.display;
  const state: PersistedState = o.statePath ? await loadState(o.statePath, display, log) : emptyPersisted(display);
  const live = emptyLive();
  const abort = new AbortController();
  const conn = new TargetConnection(options.target, live, log, abort.signal, options.reconnect);
  let forecasts = new Map<string, Forecast>();

  let saving: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    if (!o.statePath) return Promise.resolve();
    const text = serializeState(state);
    const path = o.statePath;
    saving = saving.then(() => writeStateText(path, text)).catch((err) => log.warn('cannot write the state file', { path, error: (err as Error).message }));
    return saving;
  };

  let notifier: Notifier | undefined;
  const engine = new AlertEngine(state.alerts, {
    rules: ALERT_RULES,
    repeatIntervalMs: options.policy?.alerts.repeatIntervalMs ?? DEFAULTS.repeatIntervalMs,
    notify(alert: AlertRecord, event: AlertEvent) {
      (alert.status === 'resolved' ? log.info : log.warn)(`alert ${event}`, { alert: alert.id, severity: alert.severity, summary: alert.summary });
      notifier?.send(alert, event);
    },
  });
  const view: WatchView = {
    target: display,
    live,
    state,
    alerts: () => engine.active(),
    resolvedAlerts: () => engine.recentlyResolved(),
    forecasts: () => forecasts,
    notifications: () => ({ delivered: notifier?.delivered ?? 0, failed: notifier?.failed ?? 0 }),
    settings: {
      intervalMs: o.intervalMs,
      top: o.top,
      enforce: o.enforce === true,
      forecastWindowMs: o.forecastWindowMs,
      policy: (options.policy?.rules.length ?? 0) > 0,
    },
  };

  const evaluate = () =>
    engine.evaluate({
      now: Date.now(),
      thresholds: options.policy?.alerts ?? {},
      stats: [...live.stats.values()],
      nodeUp: live.nodeUp,
      knownNodes: live.knownNodes,
      lastError: live.lastError,
      published: state.published,
      history: state.history,
      patternHistory: state.patternHistory,
      forecasts,
      doctor: live.doctor?.report,
      db: options.target.db,
      evictionWindowMs: o.evictionWindowMs,
      passFailure: live.passFailure,
      enforceFailure: live.enforceFailure,
    });

  // Like an exporter, watch starts when its target is down (in Kubernetes it often starts
  // before Redis does): it reports up 0, is not ready, and connects once the server answers.
  // Only a mistake in the flags themselves (a database the server does not have) stops it.
  try {
    await conn.connectOnce();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const seed = `${options.target.host}:${options.target.port}`;
    live.knownNodes = [seed];
    live.nodeUp.set(seed, false);
    live.lastError = errorLine(err);
    log.error('cannot connect to the target yet; retrying in the background', { target: display, error: live.lastError });
  }
  let http: HttpHandle;
  try {
    http = await startHttp({ ...o.listen, authToken: o.authToken, protectMetrics: o.protectMetrics, view, registry: createMetricsRegistry(view), log });
  } catch (err) {
    await conn.close();
    throw err;
  }
  if (o.alertWebhook)
    notifier = createWebhookNotifier({ url: o.alertWebhook, format: o.alertFormat ?? 'json', target: display, log, dashboard: `${http.url}/` });
  log.info('listening', { url: http.url, metrics: `${http.url}/metrics`, state: o.statePath || 'memory only' });

  const passWaiters: Array<() => void> = [];
  let enforcing = o.enforce === true && options.policy !== undefined;
  const journalDir = o.journalDir ?? (o.statePath ? dirname(o.statePath) : join(tmpdir(), 'keywarden'));
  // Like fix --apply and undo, a watch that writes names the server it will change first.
  if (enforcing) log.info('--enforce is on: keys that break the policy get its TTL (EXPIRE … NX) on this target', { target: display, journalDir });

  async function scanLoop(): Promise<void> {
    while (!abort.signal.aborted) {
      let target: Target;
      try {
        target = await conn.get();
      } catch {
        return; // stopped while reconnecting
      }
      try {
        const resumed = state.pass !== undefined;
        const outcome = await runPass({
          target,
          state,
          live,
          policy: options.policy,
          scan: { maxOps: o.maxOps, fast: o.fast, db: options.target.db },
          checkpointIntervalMs: o.checkpointIntervalMs,
          top: o.top,
          signal: abort.signal,
          log,
          save,
        });
        if (outcome === 'stopped') return;
        live.passFailure = undefined;
        const p = state.published;
        log.info('pass complete', {
          keys: p?.keysSeen,
          durationMs: p?.durationMs,
          patterns: Object.values(p?.nodes ?? {}).reduce((s, l) => s + l.length, 0),
          resumed,
        });
        evaluate();
        if (enforcing && options.policy && violationsIn(p) > 0) {
          enforcing = await enforce({
            target,
            policy: options.policy,
            journalDir,
            scan: { maxOps: o.maxOps, fast: o.fast, db: options.target.db },
            signal: abort.signal,
            live,
            log,
          });
          evaluate();
        }
        passWaiters.splice(0).forEach((w) => w());
        await sleep(Math.max(0, (p?.startedAt ?? Date.now()) + o.intervalMs - Date.now()), abort.signal);
      } catch (err) {
        if (abort.signal.aborted) return;
        recordPassFailure(err);
        evaluate();
        const stillUp = target.nodes.every((n) => n.client.status === 'ready');
        // A server that stops answering keeps its sockets 'ready': the reply timeout is what
        // tells. The scanner names such a node itself, as it does one that refuses (LOADING, BUSY).
        const silent = stillUp ? (err instanceof ConnectionError ? err : lostConnection(err, display, options.target.replyTimeoutMs)) : undefined;
        if (silent) {
          log.error('the pass failed; retrying', { error: silent.message });
          live.lastError = silent.message;
          await sleep(o.infoIntervalMs, abort.signal).catch(() => undefined);
        } else if (stillUp && isUserFacing(err)) {
          // Not a lost connection (e.g. a missing permission): say so, and retry later.
          log.error('the pass failed', { error: errorLine(err), hint: err.hint });
          live.lastError = errorLine(err);
          await sleep(o.infoIntervalMs * 6, abort.signal).catch(() => undefined);
        } else if (stillUp) {
          log.error('the pass failed; retrying', { error: errorLine(err) });
          await sleep(o.infoIntervalMs, abort.signal).catch(() => undefined);
        } else {
          conn.lost(target, err);
        }
      }
    }
  }

  function recordPassFailure(err: unknown): void {
    const reason = failureReason(err);
    live.scanErrors[reason] = (live.scanErrors[reason] ?? 0) + 1;
    const f = live.passFailure;
    live.passFailure = {
      since: f?.since ?? Date.now(),
      count: (f?.count ?? 0) + 1,
      reason,
      error: errorLine(midRunFailure(err, display, options.target.replyTimeoutMs) ?? err),
    };
  }

  async function infoTick(): Promise<void> {
    const target = conn.target;
    if (target) {
      const readings = await Promise.allSettled(target.nodes.map((n) => readNodeStats(n)));
      readings.forEach((r, i) => {
        const address = target.nodes[i].address;
        if (r.status === 'fulfilled') {
          live.stats.set(address, r.value);
          live.nodeUp.set(address, true);
          pushBounded(
            (state.history[address] ??= []),
            { t: r.value.at, used: r.value.usedMemory, max: r.value.maxMemory, evicted: r.value.evictedKeys },
            HISTORY_LIMIT,
          );
        } else if (isPermissionDenied(r.reason)) {
          // The node answered, it only may not be asked INFO: it is up, its figures are unknown.
          if (live.nodeUp.get(address) !== true) log.warn('this user may not run INFO: server figures (memory, evictions) are unavailable', { node: address });
          live.nodeUp.set(address, true);
        } else {
          live.nodeUp.set(address, false);
          if (target.nodes[i].client.status !== 'ready') conn.lost(target, r.reason);
        }
      });
      const now = Date.now();
      forecasts = new Map();
      for (const [node, samples] of Object.entries(state.history)) {
        if (!live.knownNodes.includes(node)) continue;
        const f = forecastFull(samples, now, { windowMs: o.forecastWindowMs });
        if (f) forecasts.set(node, f);
      }
    }
    evaluate();
  }

  async function doctorTick(): Promise<void> {
    const target = conn.target;
    if (!target) return;
    try {
      // The scanner already walks every key: the doctor pass keeps to its (deterministic) sample, budget 0.
      const report = await diagnose(target, {
        policy: options.policy,
        db: options.target.db,
        growthWindowMs: 0,
        sample: { keys: 10_000 },
        sampleDeadlineMs: 5000,
        budgetMs: 0,
      });
      live.doctor = { at: Date.now(), report };
      evaluate();
    } catch (err) {
      log.warn('doctor failed', { error: errorLine(err) });
    }
  }

  const loops = [
    scanLoop(),
    every(o.infoIntervalMs, infoTick, abort.signal, log, 'info'),
    ...(o.doctorIntervalMs === false ? [] : [every(o.doctorIntervalMs, doctorTick, abort.signal, log, 'doctor')]),
  ];

  let stopping: Promise<void> | undefined;
  return {
    url: http.url,
    view,
    nextPass: () => new Promise<void>((resolve) => passWaiters.push(resolve)),
    stop() {
      stopping ??= (async () => {
        log.info('stopping: saving the checkpoint');
        abort.abort(new Error('stopped'));
        await Promise.allSettled(loops);
        await save();
        await http.close();
        await Promise.race([notifier?.drain(), new Promise((r) => setTimeout(r, 5000).unref())]);
        await conn.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

/** The `reason` label of keywarden_scan_errors_total: what kind of failure ended a pass. */
export function failureReason(err: unknown): string {
  // The scanner wraps the node's own failure (ScanFailedError): the cause chain says what it was.
  for (let e = err as { cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e instanceof PermissionError || isPermissionDenied(e)) return 'permission';
  }
  const text = `${(err as { code?: string })?.code ?? ''} ${(err as Error)?.message ?? ''}`;
  if (/timed? ?out|stopped answering/i.test(text)) return 'timeout';
  if (/^ ?(LOADING|BUSY|MASTERDOWN|MISCONF)\b| is (still loading|busy)/.test(text)) return 'server_state';
  if (err instanceof ConnectionError || /ECONNRESET|ECONNREFUSED|EPIPE|closed|connection/i.test(text)) return 'connection';
  return 'other';
}

/** Run `tick` now and then every `ms` (after the previous one finished) until aborted. */
async function every(ms: number, tick: () => Promise<void>, signal: AbortSignal, log: WatchLogger, name: string): Promise<void> {
  while (!signal.aborted) {
    try {
      await tick();
    } catch (err) {
      log.warn(`${name} loop failed`, { error: errorLine(err) });
    }
    await sleep(ms, signal).catch(() => undefined);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
