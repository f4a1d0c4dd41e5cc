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
 * - `done`   after the server answered: batch id, indexes it refused (`refused`), and the
 *            node's checkpoint (`cp`) from which a resumed run continues.
 * - `cp`     a checkpoint alone (batches with nothing to write).
 * - `end`    the run's totals, when it finished or was interrupted cleanly.
 *
 * Write-ahead matters: a key whose TTL was set is always in the journal, even if the process
 * dies before the reply; undo's TTL check makes a journaled-but-never-applied key harmless.
 */
import { closeSync, createReadStream, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { KeywardenError } from '../errors.js';
import type { NodeCheckpoint } from '../keyspace/scanner.js';

export class JournalError extends KeywardenError {}

export interface JournalStart {
  t: 'start';
  v: 1;
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
  /** Present on the last write of a scan batch: everything before this cursor is done. */
  cp?: NodeCheckpoint;
}

export type JournalLine = JournalStart | JournalSet | JournalDone | { t: 'cp'; cp: NodeCheckpoint } | { t: 'end'; complete: boolean; totals: unknown };

/** --journal names a directory: said as such, not as "already exists" or a read error. */
export function journalIsDirectory(path: string): JournalError {
  return new JournalError(`journal ${path} is a directory`, 'give --journal a file name, e.g. --journal keywarden-fix.jsonl');
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
      throw new JournalError(`cannot write journal ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'check --journal and the permissions of its directory', { cause: err });
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
    while (off < buf.length) off += writeSync(this.fd, buf, off);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Stream the journal's lines; a torn (unparsable) last line is skipped. */
export async function* readJournal(path: string, filter?: (raw: string) => boolean): AsyncGenerator<JournalLine> {
  if (!existsSync(path)) throw new JournalError(`journal ${path} does not exist`, 'give the --journal file a previous `keywarden fix --apply` wrote');
  if (statSync(path).isDirectory()) throw journalIsDirectory(path);
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  let bad: number | undefined;
  for await (const raw of lines) {
    lineNo++;
    if (raw === '' || (filter && !filter(raw))) continue;
    if (bad !== undefined) throw corrupt(path, bad);
    try {
      yield JSON.parse(raw) as JournalLine;
    } catch {
      // Only the last line may be torn (killed mid-write); anything earlier is corruption.
      bad = lineNo;
    }
  }
}

function corrupt(path: string, line: number): JournalError {
  return new JournalError(`journal ${path} is damaged at line ${line}`, 'the file was edited or truncated; restore it from a copy');
}

export interface JournalState {
  runs: number;
  first?: JournalStart;
  /** The last checkpoint of each node, with the run_id of the server process it belongs to. */
  checkpoints: Array<NodeCheckpoint & { runId?: string }>;
  /** Batch ids with the indexes the server refused. */
  refused: Map<string, number[]>;
  finished: boolean;
  /**
   * Keys fix gave (or tried to give) a TTL: every key of the `set` lines but those a
   * keys-only batch had refused. What undo reports as `journaled`, known before it starts.
   */
  journaledKeys: number;
}

/** Everything but the keys: run count, last checkpoint per node, refused writes. */
export async function journalState(path: string): Promise<JournalState> {
  const state: JournalState = { runs: 0, checkpoints: [], refused: new Map(), finished: false, journaledKeys: 0 };
  const last = new Map<string, NodeCheckpoint & { runId?: string }>();
  let runIds: Record<string, string> = {};
  const keysOnly = new Set<string>();
  // `set` lines hold the keys and are most of the file: count them without parsing.
  const countSet = (raw: string): boolean => {
    if (!raw.startsWith('{"t":"set"')) return true;
    const set = countSetKeys(raw);
    state.journaledKeys += set.keys;
    if (set.keysOnly) keysOnly.add(set.b);
    return false;
  };
  for await (const line of readJournal(path, countSet)) {
    if (line.t === 'start') {
      state.runs++;
      state.first ??= line;
      state.finished = false;
      runIds = line.runIds ?? {};
    } else if (line.t === 'done') {
      if (line.cp) last.set(line.cp.node, { ...line.cp, runId: runIds[line.cp.node] });
      if (line.refused.length > 0) state.refused.set(line.b, line.refused);
    } else if (line.t === 'cp') last.set(line.cp.node, { ...line.cp, runId: runIds[line.cp.node] });
    else if (line.t === 'end') state.finished = line.complete;
  }
  state.checkpoints = [...last.values()];
  for (const [b, refused] of state.refused) if (keysOnly.has(b)) state.journaledKeys -= refused.length;
  return state;
}

/**
 * Batch id, key count and keys-only flag of a raw `set` line, read without JSON.parse: its
 * fields come in the order JournalWriter writes them, and base64 keys hold no `,` `]` or `"`.
 */
function countSetKeys(raw: string): { b: string; keys: number; keysOnly: boolean } {
  const b = /^\{"t":"set","b":"([^"]*)"/.exec(raw)?.[1] ?? '';
  const start = raw.indexOf('"keys":[');
  const end = start < 0 ? -1 : raw.indexOf(']', start);
  if (end < 0) return { b, keys: 0, keysOnly: false };
  const list = raw.slice(start + 8, end);
  let keys = list === '' ? 0 : 1;
  for (let i = list.indexOf(','); i >= 0; i = list.indexOf(',', i + 1)) keys++;
  return { b, keys, keysOnly: raw.endsWith('"keysOnly":true}') };
}
