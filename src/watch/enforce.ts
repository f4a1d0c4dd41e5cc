/**
 * `--enforce`: when a completed pass finds keys that break their rule, run `fix --apply`'s own
 * code (`applyFix`: PEXPIRE … NX only, durable rules untouched, paced by the latency guard and
 * the replica-lag brake, journaled so `keywarden undo` can roll it back). The whole policy is
 * applied, never a subset of its rules: first match wins, so dropping a `durable` rule above a
 * broader one would hand TTLs to keys meant to live forever.
 */
import { mkdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { applyFix, UnsupportedServerError } from '../fix/index.js';
import type { Policy } from '../policy/index.js';
import type { Target } from '../target/connect.js';
import { errorLine } from './connection.js';
import type { WatchLogger } from './log.js';
import type { LiveState, PublishedPass } from './state.js';

export interface EnforceContext {
  target: Target;
  policy: Policy;
  journalDir: string;
  scan: { maxOps?: number; fast?: boolean; db?: number };
  signal: AbortSignal;
  live: LiveState;
  log: WatchLogger;
}

/** Keys breaking their rule in a published pass. */
export function violationsIn(published: PublishedPass | undefined): number {
  return Object.values(published?.nodes ?? {}).reduce((s, list) => s + list.reduce((a, f) => a + f.violations, 0), 0);
}

/** Run one enforcement; resolves false when enforcement cannot work on this server (and says why). */
export async function enforce(ctx: EnforceContext): Promise<boolean> {
  const journal = join(ctx.journalDir, `enforce-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  ctx.log.info('enforcing policy TTLs', { journal });
  try {
    await mkdir(ctx.journalDir, { recursive: true });
    const report = await applyFix(ctx.target, {
      policy: ctx.policy,
      journal,
      maxOps: ctx.scan.maxOps,
      fast: ctx.scan.fast,
      db: ctx.scan.db,
      signal: ctx.signal,
      measureMemory: false,
    });
    ctx.live.enforced += report.totals.applied;
    ctx.live.enforceFailure = undefined;
    ctx.log.info('enforced policy TTLs', {
      applied: report.totals.applied,
      needTtl: report.totals.needTtl,
      complete: report.complete,
      journal,
      undo: `keywarden undo --journal ${journal}`,
    });
    return true;
  } catch (err) {
    if (err instanceof UnsupportedServerError) {
      ctx.log.error('enforcement is off: this server cannot take EXPIRE … NX', { error: err.message, hint: err.hint });
      return false;
    }
    if (ctx.signal.aborted) return true;
    // A journal that could not be written (full disk, unwritable --journal-dir) is not left
    // behind empty; the failure is counted and alerted on, not only logged.
    await removeIfEmpty(journal);
    const f = ctx.live.enforceFailure;
    ctx.live.enforceErrors++;
    ctx.live.enforceFailure = { since: f?.since ?? Date.now(), count: (f?.count ?? 0) + 1, error: errorLine(err) };
    ctx.log.warn('enforcement stopped; the next pass retries', { error: errorLine(err), journal });
    return true;
  }
}

async function removeIfEmpty(path: string): Promise<void> {
  try {
    if ((await stat(path)).size === 0) await unlink(path);
  } catch {
    // Never created: nothing to remove.
  }
}
