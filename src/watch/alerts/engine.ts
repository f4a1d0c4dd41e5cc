/**
 * Fire, repeat and resolve: each evaluation compares what the rules say is wrong now with
 * what is already firing. New alerts are sent at once, firing ones again every
 * `repeatIntervalMs`, and ones no longer reported are sent as resolved — one message per
 * change, never one per evaluation.
 */
import type { AlertCandidate, AlertContext, AlertRecord, AlertRule } from './types.js';

export type AlertEvent = 'firing' | 'repeat' | 'resolved';

export interface AlertEngineOptions {
  rules: readonly AlertRule[];
  repeatIntervalMs: number;
  notify(alert: AlertRecord, event: AlertEvent): void;
  /** Resolved alerts kept for /alerts. Default 50. */
  keepResolved?: number;
}

function idOf(rule: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
  return parts.length > 0 ? `${rule}{${parts.join(',')}}` : rule;
}

export class AlertEngine {
  private readonly resolved: AlertRecord[] = [];

  /** `firing` is the persisted list of firing alerts; the engine updates it in place. */
  constructor(
    private readonly firing: AlertRecord[],
    private readonly options: AlertEngineOptions,
  ) {}

  evaluate(ctx: AlertContext): void {
    const seen = new Set<string>();
    for (const rule of this.options.rules) {
      let candidates: AlertCandidate[];
      try {
        candidates = rule.evaluate(ctx);
      } catch {
        continue; // a broken rule must not silence the others
      }
      for (const c of candidates) seen.add(this.upsert(rule, c, ctx.now));
    }
    for (let i = this.firing.length - 1; i >= 0; i--) {
      const alert = this.firing[i];
      if (seen.has(alert.id)) continue;
      this.firing.splice(i, 1);
      const done: AlertRecord = { ...alert, status: 'resolved', endsAt: ctx.now, lastNotifiedAt: ctx.now };
      this.resolved.unshift(done);
      this.resolved.length = Math.min(this.resolved.length, this.options.keepResolved ?? 50);
      this.options.notify(done, 'resolved');
    }
  }

  private upsert(rule: AlertRule, c: AlertCandidate, now: number): string {
    const id = idOf(rule.name, c.labels);
    const existing = this.firing.find((a) => a.id === id);
    if (existing) {
      Object.assign(existing, { summary: c.summary, value: c.value, threshold: c.threshold });
      // The first message went out before the patterns were known: send them as soon as they are.
      const patternsArrived = existing.patternsPending === true && c.patternsPending !== true;
      if (patternsArrived) delete existing.patternsPending;
      if (patternsArrived || now - (existing.lastNotifiedAt ?? 0) >= this.options.repeatIntervalMs) {
        existing.lastNotifiedAt = now;
        this.options.notify({ ...existing }, 'repeat');
      }
      return id;
    }
    const alert: AlertRecord = {
      id,
      rule: rule.name,
      severity: c.severity ?? rule.severity,
      status: 'firing',
      labels: c.labels,
      summary: c.summary,
      value: c.value,
      threshold: c.threshold,
      startsAt: now,
      lastNotifiedAt: now,
      ...(c.patternsPending ? { patternsPending: true } : {}),
    };
    this.firing.push(alert);
    this.options.notify({ ...alert }, 'firing');
    return id;
  }

  active(): AlertRecord[] {
    return this.firing.map((a) => ({ ...a }));
  }

  recentlyResolved(): AlertRecord[] {
    return this.resolved.map((a) => ({ ...a }));
  }
}
