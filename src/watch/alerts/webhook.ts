/**
 * Alert delivery to `--alert-webhook`: a generic JSON document, or a Slack-compatible one
 * (`--alert-format slack`). Sends are queued and retried in the background, so a slow or
 * dead receiver never stalls the scanner. The webhook URL is a secret (Slack puts the token
 * in the path): logs name only its origin.
 */
import type { WatchLogger } from '../log.js';
import type { AlertEvent } from './engine.js';
import type { AlertRecord } from './types.js';

export type AlertFormat = 'json' | 'slack';

export interface WebhookOptions {
  url: string;
  format: AlertFormat;
  /** Redacted target URL, named in every message. */
  target: string;
  log: WatchLogger;
  /** Dashboard URL to link from messages. */
  dashboard?: string;
  timeoutMs?: number;
  /** Delays between attempts. Default [1000, 5000] (three attempts). */
  retryDelaysMs?: number[];
}

/** The generic payload: one alert, one change. */
export function jsonPayload(alert: AlertRecord, event: AlertEvent, target: string, dashboard?: string): object {
  return {
    kind: 'keywarden.alert',
    schemaVersion: 1,
    status: alert.status,
    event,
    target,
    ...(dashboard ? { dashboard } : {}),
    alert: alertJson(alert),
  };
}

/**
 * An alert as every JSON output shows it (webhooks, `/alerts`, the dashboard's `/api/state`):
 * times in one format, ISO 8601 UTC.
 */
export function alertJson(alert: AlertRecord) {
  return {
    id: alert.id,
    rule: alert.rule,
    severity: alert.severity,
    status: alert.status,
    labels: alert.labels,
    summary: alert.summary,
    value: alert.value,
    threshold: alert.threshold,
    startsAt: new Date(alert.startsAt).toISOString(),
    ...(alert.endsAt !== undefined ? { endsAt: new Date(alert.endsAt).toISOString() } : {}),
    ...(alert.lastNotifiedAt !== undefined ? { lastNotifiedAt: new Date(alert.lastNotifiedAt).toISOString() } : {}),
  };
}

/** Slack mrkdwn treats `&`, `<`, `>` as markup: key patterns are data and must not become links. */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackPayload(alert: AlertRecord, event: AlertEvent, target: string, dashboard?: string): object {
  const head =
    alert.status === 'resolved'
      ? ':white_check_mark: [RESOLVED]'
      : `${alert.severity === 'critical' ? ':rotating_light:' : ':warning:'} [FIRING${event === 'repeat' ? ', still' : ''}]`;
  const lines = [`${head} *${alert.rule}* (${alert.severity}) on ${slackEscape(target)}`, slackEscape(alert.summary)];
  if (dashboard) lines.push(`<${dashboard}|dashboard>`);
  return { text: lines.join('\n') };
}

export interface Notifier {
  send(alert: AlertRecord, event: AlertEvent): void;
  /** Resolves when every queued message has been delivered or given up. */
  drain(): Promise<void>;
  readonly delivered: number;
  readonly failed: number;
}

export function createWebhookNotifier(options: WebhookOptions): Notifier {
  const origin = safeOrigin(options.url);
  // fetch refuses URLs with credentials (and quotes the whole URL in its error): send them
  // as Basic authentication instead, as curl does.
  const { url, authorization } = splitCredentials(options.url);
  const delays = options.retryDelaysMs ?? [1000, 5000];
  let chain: Promise<void> = Promise.resolve();
  let delivered = 0;
  let failed = 0;

  const post = async (body: string): Promise<void> => {
    let lastError = '';
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, delays[attempt - 1]));
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'keywarden-watch', ...(authorization ? { authorization } : {}) },
          body,
          // A redirect is refused, not followed: a loop would multiply every alert, and the
          // alert (with the token in the URL) must not be carried to another host.
          redirect: 'manual',
          signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
        });
        await discardBody(res);
        if (res.ok) return;
        if (res.status >= 300 && res.status < 400) {
          lastError = `HTTP ${res.status} redirect (not followed: give the final URL to --alert-webhook)`;
          break;
        }
        lastError = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 429) break; // the receiver refuses it: retrying will not help
      } catch (err) {
        lastError = (err as Error).name === 'TimeoutError' ? `no answer within ${options.timeoutMs ?? 5000} ms` : deliveryError(err);
      }
    }
    throw new Error(lastError);
  };

  return {
    send(alert, event) {
      const payload =
        options.format === 'slack'
          ? slackPayload(alert, event, options.target, options.dashboard)
          : jsonPayload(alert, event, options.target, options.dashboard);
      const body = JSON.stringify(payload);
      chain = chain.then(() =>
        post(body).then(
          () => {
            delivered++;
            options.log.info('alert sent', { alert: alert.id, status: alert.status, webhook: origin });
          },
          (err: Error) => {
            failed++;
            options.log.error('alert webhook failed', { alert: alert.id, status: alert.status, webhook: origin, error: err.message });
          },
        ),
      );
    },
    drain: () => chain,
    get delivered() {
      return delivered;
    },
    get failed() {
      return failed;
    },
  };
}

/** The receiver's reply is not needed: read at most RESPONSE_CAP bytes of it, then hang up. */
const RESPONSE_CAP = 64 * 1024;

async function discardBody(res: Response): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let read = 0;
  try {
    while (read < RESPONSE_CAP) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // A reply cut short changes nothing: the status is what counts.
  }
}

/** Why a delivery failed, in words: the network error's code and what it means, never the URL. */
function deliveryError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'unknown host',
    EAI_AGAIN: 'DNS lookup failed',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    CERT_HAS_EXPIRED: 'TLS certificate expired',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  };
  if (code) return words[code] ? `${words[code]} (${code})` : code;
  const text = (cause?.message ?? (err as Error).message ?? String(err)).split('\n')[0].slice(0, 200);
  // An error that quotes a URL may quote its secret path or query: keep only the words before it.
  return text.includes('://') ? text.slice(0, text.indexOf('://')).replace(/\S*$/, '').trim() || 'delivery failed' : text;
}

function splitCredentials(raw: string): { url: string; authorization?: string } {
  try {
    const u = new URL(raw);
    if (!u.username && !u.password) return { url: raw };
    const pair = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    u.username = '';
    u.password = '';
    return { url: u.toString(), authorization: `Basic ${Buffer.from(pair).toString('base64')}` };
  } catch {
    return { url: raw };
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
