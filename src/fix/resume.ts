/**
 * The journal side of a fix run: a new journal starts with the run's policy and the run_id
 * of every node; `--resume` checks the journal belongs to the same policy and target and
 * turns its last checkpoints into where each node's SCAN continues.
 */
import { existsSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { NodeCheckpoint } from '../keyspace/scanner.js';
import type { Target } from '../target/connect.js';
import type { FixOptions } from './apply.js';
import { JOURNAL_VERSION, JournalError, journalIsDirectory, journalState, JournalWriter, repairTail, type JournalStart } from './journal.js';
import { sameServers, targetRunIds } from './same-server.js';


function startLine(target: Target, options: FixOptions, resume: boolean, ids: Record<string, string>): JournalStart {
  return {
    t: 'start',
    v: JOURNAL_VERSION,
    target: target.spec.display,
    mode: target.mode,
    policy: {
      ...(options.policy.file ? { file: options.policy.file } : {}),
      rules: options.policy.rules.map((r) => ({ match: r.match, ttlMs: r.ttlMs, role: r.role, jitter: r.jitter })),
    },
    ...(options.maxTtlMs !== undefined ? { maxTtlMs: options.maxTtlMs } : {}),
    runIds: ids,
    resume,
    at: new Date().toISOString(),
  };
}

/** Open (or, with `resume`, continue) the journal of an apply run; none without `options.journal`. */
export async function openJournal(target: Target, options: FixOptions): Promise<{ journal?: JournalWriter; resumeFrom?: NodeCheckpoint[] }> {
  const path = options.journal;
  if (!path) {
    if (options.resume) throw new UsageError('--resume needs the journal of the run to continue', 'add --journal FILE (the file the interrupted run wrote)');
    return {};
  }
  if (!options.resume) {
    if (existsSync(path) && statSync(path).isDirectory()) throw journalIsDirectory(path);
    if (existsSync(path)) throw new JournalError(`journal ${path} already exists`, 'add --resume to continue that run, or choose a new --journal file');
    const journal = new JournalWriter(path, 1);
    journal.write(startLine(target, options, false, await targetRunIds(target)));
    return { journal };
  }
  // Checked whole first (a file that is no journal is never modified); then a line torn by
  // a kill or a full disk is cut off, so appended lines never follow it.
  const state = await journalState(path);
  repairTail(path);
  const first = state.first;
  if (!first) throw new JournalError(`journal ${path} holds no fix run`, 'give the --journal file that `keywarden fix --apply` wrote');
  const ids = await targetRunIds(target);
  const now = startLine(target, options, true, ids);
  if (JSON.stringify(first.policy.rules) !== JSON.stringify(now.policy.rules) || first.maxTtlMs !== now.maxTtlMs) {
    throw new JournalError(`journal ${path} was written with a different policy`, 'resume with the same --policy (or --match/--ttl) and --max-ttl as the first run, or start a new --journal');
  }
  // The same server may be spelled another way this time (localhost for 127.0.0.1).
  const same = await sameServers(target, state.runIds, state.checkpoints.map((c) => c.node));
  const strange = state.checkpoints.find((c) => !same.has(c.node));
  if (strange) throw new JournalError(`journal ${path} has progress for ${strange.node}, which is not a node of ${target.spec.display}`, 'resume against the same server or cluster as the first run');
  const journal = new JournalWriter(path, state.runs + 1);
  journal.write(now);
  // A SCAN cursor only means something to the server process that issued it: after a
  // restart or failover (another run_id) that node is walked again from the start; keys
  // already fixed have a TTL now, so this costs reads, not repeated writes.
  const here = state.checkpoints.map((c) => ({ ...c, node: same.get(c.node)! }));
  const valid = here.filter((c) => c.runId === undefined || c.runId === ids[c.node]);
  options.onResume?.({ nodes: valid.length, restarted: here.filter((c) => !valid.includes(c)).map((c) => c.node) });
  // Cursor 0 after a step means that database was walked to the end: continue with the next one.
  const resumeFrom = valid.map(({ runId: _runId, ...c }) => (c.cursor === '0' && !c.done ? { ...c, db: c.db + 1 } : c));
  return { journal, resumeFrom };
}
