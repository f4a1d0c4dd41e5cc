/**
 * `undoFix`: take back the TTLs a fix run set, from its journal. Only `PERSIST`, only on
 * journaled keys, and only while the key's remaining TTL is still one fix could have set:
 * at most the TTL it set, and at least what would be left of it now. A key the application
 * has since given its own TTL, re-created or deleted is left alone and counted with a reason.
 */
import type { Redis } from 'ioredis';
import { displayKey } from '../keyspace/display.js';
import { Pacer, type PaceOptions } from '../keyspace/pace.js';
import { luaScript, runScript } from '../lua/index.js';
import type { Target } from '../target/connect.js';
import { connectionFailure } from '../target/errors.js';
import { KeywardenError } from '../errors.js';
import { FixInterruptedError } from './errors.js';
import { journalState, readJournal, type JournalSet } from './journal.js';
import type { UndoReport, UndoSkipReason } from './types.js';

export interface UndoOptions extends PaceOptions {
  journal: string;
  /** Check and report only; no PERSIST is sent. */
  dryRun?: boolean;
  signal?: AbortSignal;
  onProgress?(done: number): void;
}

/** Slack for the lower bound: the write was sent after `at` was taken, and clocks round. */
const SLACK_MS = 5000;
const EXAMPLES = 3;
const CODES: Record<string, UndoSkipReason | 'undone'> = { u: 'undone', g: 'gone', p: 'noTtl', l: 'longerTtl', s: 'otherTtl' };

interface Pending {
  keys: Buffer[];
  args: Array<string | Buffer>;
}

/**
 * Undo a fix run recorded in `options.journal` on `target`.
 * @throws JournalError when the journal is missing or damaged; FixInterruptedError when a node goes away.
 */
export async function undoFix(target: Target, options: UndoOptions): Promise<UndoReport> {
  const started = performance.now();
  const report: UndoReport = {
    kind: 'keywarden.undo',
    schemaVersion: 1,
    dryRun: options.dryRun === true,
    journal: options.journal,
    target: { url: target.spec.display, mode: target.mode },
    journaled: 0,
    persisted: 0,
    skipped: { gone: 0, noTtl: 0, longerTtl: 0, otherTtl: 0, refused: 0, shortened: 0, unknownNode: 0 },
    skippedExamples: {},
    durationMs: 0,
  };
  const skip = (reason: UndoSkipReason, key: Buffer) => {
    report.skipped[reason]++;
    const list = (report.skippedExamples[reason] ??= []);
    if (list.length < EXAMPLES) list.push(displayKey(key));
  };

  const state = await journalState(options.journal);
  const clients = new Map(target.nodes.map((n) => [n.address, n.client]));
  const selected = new Map<Redis, number>();
  const pacer = new Pacer(options);
  const script = luaScript('fix-undo');
  let batch: { node: string; db: number; pending: Pending } | undefined;

  const flush = async () => {
    if (!batch || batch.pending.keys.length === 0) return;
    const { node, db, pending } = batch;
    batch = undefined;
    const client = clients.get(node) as Redis;
    await pacer.wait();
    const t0 = performance.now();
    if (target.mode === 'standalone' && selected.get(client) !== db) {
      await client.select(db);
      selected.set(client, db);
    }
    const reply = ((await runScript(client, script, [options.dryRun ? '0' : '1', ...pending.args])) as Buffer).toString('latin1');
    pacer.record(performance.now() - t0, pending.keys.length, pending.keys.length);
    for (let i = 0; i < pending.keys.length; i++) {
      const code = CODES[reply[i]];
      if (code === 'undone') report.persisted++;
      else skip(code, pending.keys[i]);
    }
    options.onProgress?.(report.persisted + Object.values(report.skipped).reduce((a, b) => a + b, 0));
  };

  try {
    for await (const line of readJournal(options.journal, (raw) => raw.startsWith('{"t":"set"'))) {
      if (options.signal?.aborted) {
        report.interrupted = true;
        break;
      }
      if (line.t !== 'set') continue;
      await take(line);
    }
    await flush();
  } catch (err) {
    if (err instanceof KeywardenError) throw err;
    throw new FixInterruptedError(
      `undo stopped after ${report.persisted} PERSIST: ${connectionFailure(err, target.spec.display).message}`,
      `rerun the same undo once the server answers again: keys already undone are skipped`,
      { cause: err },
    );
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;

  async function take(line: JournalSet): Promise<void> {
    const refused = new Set(state.refused.get(line.b) ?? []);
    const now = Date.now();
    for (let i = 0; i < line.keys.length; i++) {
      // A keys-only batch sends every key its rule covers; NX (or LT) refusing one means it
      // had a TTL of its own, so fix never gave it one: not fix's to undo, nor to count.
      if (line.keysOnly && refused.has(i)) continue;
      const key = Buffer.from(line.keys[i], 'base64');
      report.journaled++;
      if (line.op === 'lt') skip('shortened', key);
      else if (refused.has(i)) skip('refused', key);
      else if (!clients.has(line.node)) skip('unknownNode', key);
      else {
        if (!batch || batch.node !== line.node || batch.db !== line.db || batch.pending.keys.length >= pacer.nextBatch()) {
          await flush();
          batch = { node: line.node, db: line.db, pending: { keys: [], args: [] } };
        }
        const ttl = line.ttlMs[i];
        batch.pending.keys.push(key);
        batch.pending.args.push(key, String(ttl), String(ttl - (now - line.at) - SLACK_MS));
      }
    }
  }
}
