/**
 * The fix journal: JSONL, append-only, one line per event. It is what makes `--resume` and
 * `keywarden undo` possible, so every line is written with one synchronous `write` to the
 * file descriptor: a `kill -9` can lose nothing that was written (the kernel holds it), and
 * a torn last line is ignored on reading.
 *
 * Lines (`t` is the type):
 * - `start`  one per run (and per resume): target, policy rules, max TTL.
 * - `set`    written *before* a batch of writes: batch id `b`, node, db, time `at` (ms),
 *            keys (base64, binary-safe), the TTL each gets (`ttlMs`), `op` (`nx` or `lt`;
 *            `lt` lines of older runs also carry each key's previous TTL in `prevTtlMs`).
 *            `keysOnly: true`: the keys were not read before the write (keys-only SCAN), so
 *            the line holds every key its rule covers and a refused one simply had a TTL
 *            of its own: it was never fix's, and undo does not count it.
 * - `done`   after the server answered: batch id, indexes it refused (`refused`), for `nx`
 *            batches the absolute expiry each key was given (`exp`, unix ms, PEXPIRETIME read
 *            in the same script or transaction as the write; 0 where none was set), and the
 *            node's checkpoint (`cp`) from which a resumed run continues.
 * - `cp`     a checkpoint alone (batches with nothing to write).
 * - `end`    the run's totals, when it finished or was interrupted cleanly.
 *
 * Write-ahead matters: a key whose TTL was set is always in the journal, even if the process
 * dies before the reply. Undo PERSISTs a key only while its expiry is exactly the `exp` its
 * `done` line recorded; a batch that never got its `done` line (the process died while the
 * call was in flight) is reported as unconfirmed and left alone: its TTLs cannot be told
 * from ones the application set.
 *
 * Format 2 (this one) added `exp`. A journal is checked whole before anything acts on it
 * (`journalState`): not JSONL, no start line first, an unknown format, or a damaged line
 * anywhere but the very end is refused. `--resume` cuts a torn last line off before it
 * appends (`repairTail`), so a torn line never ends up in the middle.
 */
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync, statSync, ftruncateSync, writeSync, type Stats } from 'node:fs';
import { createInterface } from 'node:readline';
import { KeywardenError, UsageError } from '../errors.js';
import type { NodeCheckpoint } from '../keyspace/walk/node-walk.js';
import type { Target } from '../target/connect.js';
import { sameServers, targetRunIds } from './same-server.js';
import type { FixOptions } from './types.js';

export class JournalError extends KeywardenError {}

/** The journal format this version writes and reads. */
export const JOURNAL_VERSION = 2;

export interface JournalStart {
  t: 'start';
  v: number;
  target: string;
  mode: string;
  policy: { file?: string; rules: Array<{ match: string; ttlMs?: number; role?: string; jitter?: number }> };
  maxTtlMs?: number;
  /** INFO run_id per node: a SCAN cursor means nothing to another server process (restart, failover). */
  runIds?: Record<string, string>;
  resume: boolean;
  at: string;
}

export interface JournalSet {
  t: 'set';
  b: string;
  node: string;
  db: number;
  at: number;
  op: 'nx' | 'lt';
  keys: string[];
  ttlMs: number[];
  prevTtlMs?: number[];
  /** Keys sent without being read first: refused ones had a TTL that was never fix's. */
  keysOnly?: true;
}

export interface JournalDone {
  t: 'done';
  b: string;
  refused: number[];
  /** `nx` batches: per key, the absolute expiry (unix ms) fix gave it, 0 where it set none. */
  exp?: number[];
  /** Present on the last write of a scan batch: everything before this cursor is done. */
  cp?: NodeCheckpoint;
}

export type JournalLine = JournalStart | JournalSet | JournalDone | { t: 'cp'; cp: NodeCheckpoint } | { t: 'end'; complete: boolean; totals: unknown };

/** The journal file's status, none when it does not exist; a directory is refused as such, not as "already exists" or a read error. */
function journalStat(path: string): Stats | undefined {
  if (!existsSync(path)) return undefined;
  const stat = statSync(path);
  if (stat.isDirectory()) throw new JournalError(`journal ${path} is a directory`, 'give --journal a file name, e.g. --journal keywarden-fix.jsonl');
  return stat;
}

/** Appends lines to a journal file with one `write(2)` per call. */
export class JournalWriter {
  private readonly fd: number;
  private seq = 0;

  constructor(
    readonly path: string,
    private readonly run: number,
  ) {
    try {
      this.fd = openSync(path, 'a');
    } catch (err) {
      throw journalWriteFailure(path, err);
    }
  }

  /** A batch id unique within the journal (run number and sequence). */
  nextBatch(): string {
    return `${this.run}.${++this.seq}`;
  }

  write(...lines: JournalLine[]): void {
    const text = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd, buf, off);
    } catch (err) {
      throw journalWriteFailure(this.path, err);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** One line saying why the journal cannot be written, with advice for the cause. */
function journalWriteFailure(path: string, err: unknown): JournalError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new JournalError(
      `the disk holding journal ${path} is full (${code}): stopped before sending writes it could not record`,
      `free space there (or choose --journal on another disk), then rerun the same command with --resume --journal ${path}`,
      { cause: err },
    );
  }
  return new JournalError(`cannot write journal ${path}: ${code ?? String(err)}`, 'check --journal and the permissions of its directory', { cause: err });
}

/**
 * Stream the journal's lines. A line that does not parse is an error (naming it), unless it
 * is the last one and the file does not end with a newline: a write torn by a kill or a full
 * disk, which is skipped.
 */
export async function* readJournal(path: string, filter?: (raw: string) => boolean): AsyncGenerator<JournalLine> {
  if (!journalStat(path)) throw new JournalError(`journal ${path} does not exist`, 'give the --journal file a previous `keywarden fix --apply` wrote');
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  let bad: number | undefined;
  for await (const raw of lines) {
    lineNo++;
    if (bad !== undefined) throw corrupt(path, bad);
    if (raw === '' || (filter && !filter(raw))) continue;
    let line: unknown;
    try {
      line = JSON.parse(raw);
    } catch {
      bad = lineNo;
      continue;
    }
    yield line as JournalLine;
  }
  if (bad !== undefined && endsWithNewline(path)) throw corrupt(path, bad);
}

function endsWithNewline(path: string): boolean {
  const size = statSync(path).size;
  if (size === 0) return true;
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

function corrupt(path: string, line: number): JournalError {
  return new JournalError(
    `journal ${path} is damaged at line ${line}: nothing was undone or resumed`,
    'the file was edited or is not a keywarden fix journal; restore it from a copy',
  );
}

function refuse(path: string, what: string): JournalError {
  return new JournalError(
    `${path} is not a usable fix journal: ${what}; nothing was written`,
    'give --journal the file `keywarden fix --apply` wrote, unedited',
  );
}

/**
 * Cut a torn last line (no final newline: the process was killed mid-write, or the disk
 * filled) off the journal, so what `--resume` appends starts on a line of its own. Returns
 * the bytes removed.
 */
export function repairTail(path: string): number {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    // Look back for the last newline, a chunk at a time.
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      const at = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (at >= 0) {
        const keep = start + at + 1;
        if (keep < size) ftruncateSync(fd, keep);
        return size - keep;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
    return size;
  } finally {
    closeSync(fd);
  }
}

export interface JournalState {
  runs: number;
  first?: JournalStart;
  /** run_id per node address, from every start line (addresses as the journal spells them). */
  runIds: Record<string, string>;
  /** The last checkpoint of each node, with the run_id of the server process it belongs to. */
  checkpoints: Array<NodeCheckpoint & { runId?: string }>;
  /** Batch ids with the indexes the server refused. */
  refused: Map<string, number[]>;
  /**
   * Keys fix gave (or tried to give) a TTL: every key of the `set` lines but those a
   * keys-only batch had refused. What undo reports as `journaled`, known before it starts.
   */
  journaledKeys: number;
  /** Every node address `set` lines name. */
  nodes: Set<string>;
  /** Ids of the `set` lines that never got their `done`. */
  unansweredBatches: Set<string>;
}

const LINE_TYPES = new Set(['start', 'set', 'done', 'cp', 'end']);

/**
 * Read and check the whole journal before anything acts on it: every line parses and has a
 * known type, the first is a `start` line of this format, every `set` line's keys and TTLs
 * match, every `done` line answers a `set` line. Returns everything but the keys: run count,
 * last checkpoint per node, refused writes.
 *
 * @throws JournalError (one line) naming what is wrong; nothing has been written then.
 */
export async function journalState(path: string): Promise<JournalState> {
  // The last checkpoints and the unanswered batches are known once every line is read.
  const state: Omit<JournalState, 'checkpoints' | 'unansweredBatches'> = {
    runs: 0,
    runIds: {},
    refused: new Map(),
    journaledKeys: 0,
    nodes: new Set(),
  };
  if (journalStat(path)?.isFile() === false) throw refuse(path, 'it is not a regular file');
  const last = new Map<string, NodeCheckpoint & { runId?: string }>();
  let runIds: Record<string, string> = {};
  const sets = new Map<string, { keys: number; keysOnly: boolean }>();
  let lineNo = 0;
  for await (const line of readJournal(path)) {
    lineNo++;
    const t = typeof line === 'object' && line !== null ? (line as { t?: unknown }).t : undefined;
    if (typeof t !== 'string' || !LINE_TYPES.has(t)) throw refuse(path, `line ${lineNo} is not a journal line`);
    if (lineNo === 1 && t !== 'start') throw refuse(path, 'it does not begin with the start line of a fix run');
    if (line.t === 'start') {
      if (line.v !== JOURNAL_VERSION) {
        throw new JournalError(
          `journal ${path} is in format ${String(line.v)}, this keywarden reads format ${JOURNAL_VERSION}: nothing was written`,
          line.v === 1
            ? "format 1 records no expiry times, so undo could not tell fix's TTLs from the application's: use the keywarden version that wrote it"
            : 'use the keywarden version that wrote it',
        );
      }
      state.runs++;
      state.first ??= line;
      runIds = line.runIds ?? {};
      Object.assign(state.runIds, runIds);
    } else if (line.t === 'set') {
      if (!Array.isArray(line.keys) || !Array.isArray(line.ttlMs) || line.keys.length !== line.ttlMs.length || typeof line.b !== 'string') {
        throw refuse(path, `line ${lineNo} is a damaged set line`);
      }
      sets.set(line.b, { keys: line.keys.length, keysOnly: line.keysOnly === true });
      state.nodes.add(line.node);
      state.journaledKeys += line.keys.length;
    } else if (line.t === 'done') {
      const set = sets.get(line.b);
      if (!set || !Array.isArray(line.refused) || (line.exp !== undefined && (!Array.isArray(line.exp) || line.exp.length !== set.keys))) {
        throw refuse(path, `line ${lineNo} answers no set line before it`);
      }
      sets.delete(line.b);
      if (line.cp) last.set(line.cp.node, { ...line.cp, runId: runIds[line.cp.node] });
      if (line.refused.length > 0) state.refused.set(line.b, line.refused);
      if (set.keysOnly) state.journaledKeys -= line.refused.length;
    } else if (line.t === 'cp') last.set(line.cp.node, { ...line.cp, runId: runIds[line.cp.node] });
  }
  if (lineNo === 0) throw refuse(path, 'it is empty');
  return { ...state, checkpoints: [...last.values()], unansweredBatches: new Set(sets.keys()) };
}

// The journal side of a fix run: a new journal starts with the run's policy and the run_id
// of every node; `--resume` checks the journal belongs to the same policy and target and
// turns its last checkpoints into where each node's SCAN continues.

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
    if (journalStat(path)) throw new JournalError(`journal ${path} already exists`, 'add --resume to continue that run, or choose a new --journal file');
    const journal = new JournalWriter(path, 1);
    journal.write(startLine(target, options, false, await targetRunIds(target)));
    return { journal };
  }
  // Checked whole first (a file that is no journal is never modified); then a line torn by
  // a kill or a full disk is cut off, so appended lines never follow it.
  const state = await journalState(path);
  repairTail(path);
  // journalState refuses a journal that does not begin with a start line.
  const first = state.first!;
  const ids = await targetRunIds(target);
  const now = startLine(target, options, true, ids);
  if (JSON.stringify(first.policy.rules) !== JSON.stringify(now.policy.rules) || first.maxTtlMs !== now.maxTtlMs) {
    throw new JournalError(
      `journal ${path} was written with a different policy`,
      'resume with the same --policy (or --match/--ttl) and --max-ttl as the first run, or start a new --journal',
    );
  }
  // The same server may be spelled another way this time (localhost for 127.0.0.1).
  const journaled = state.checkpoints.map((c) => c.node);
  const same = await sameServers(target, state.runIds, journaled);
  const strange = state.checkpoints.find((c) => !same.has(c.node));
  if (strange)
    throw new JournalError(
      `journal ${path} has progress for ${strange.node}, which is not a node of ${target.spec.display}`,
      'resume against the same server or cluster as the first run',
    );
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
