/**
 * Several dumps (one per cluster shard) read at once: one worker thread per file, as many
 * at a time as there are cores, each producing its own report; the reports are merged into
 * one keyspace with per-node (per-file) figures. One file is read on the calling thread, and
 * when a core is idle its keys are aggregated on a second one (`auditDumpFileThreaded`).
 */
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { KeywardenError } from '../errors.js';
import type { Aggregation } from '../keyspace/aggregate.js';
import { mergeReports } from '../keyspace/merge.js';
import type { ScanReport } from '../keyspace/report.js';
import type { AggregateJob } from './aggregate-worker.js';
import { auditDumpFile, dumpReport, readDump, type AuditDumpOptions, type DumpRead } from './audit.js';
import { RdbFormatError } from './errors.js';
import { abortHandoff, CONTROL_BYTES, HandoffWriter, type HandoffReply } from './handoff.js';
import { readRdbFile } from './reader.js';
import { startWorker } from './thread.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

export interface AuditDumpsOptions extends Omit<AuditDumpOptions, 'onProgress'> {
  /** Bytes read over all files, and their total size. */
  onProgress?(bytesRead: number, totalBytes: number): void;
  /**
   * Threads at once (default: the cores available). For one file, 2 or more parses it on one
   * thread and aggregates it on another; by default that happens when the file is big enough
   * and a core is idle.
   */
  threads?: number;
}

function runWorker(job: WorkerJob, onProgress: (bytes: number) => void): Promise<ScanReport> {
  return new Promise((resolve, reject) => {
    const worker = startWorker('worker', job);
    let settled = false;
    worker.on('message', (msg: WorkerMessage) => {
      if ('progress' in msg) onProgress(msg.progress);
      else if ('report' in msg) {
        settled = true;
        resolve(msg.report);
      } else {
        settled = true;
        const e = msg.error;
        if (e.file !== undefined && e.offset !== undefined) reject(new RdbFormatError(e.file, e.offset, e.message.replace(/^.*?: (.*) at byte \d+$/, '$1')));
        else if (e.userFacing) reject(new KeywardenError(e.message, e.hint ?? 'check the dump file'));
        else reject(new Error(e.message));
      }
    });
    worker.on('error', (err) => !settled && reject(err));
    worker.on('exit', (code) => !settled && reject(new Error(`dump reader thread for ${job.path} exited with code ${code}`)));
  });
}

/** Smaller dumps are read on one thread: a second one would take longer to start than it saves. */
const THREADED_MIN_BYTES = 16 << 20;

/**
 * Audit one dump file on two threads: this one parses it, a worker thread aggregates its keys
 * as they are handed over in batches (handoff.ts). The same report as `auditDumpFile`; sooner
 * when a second core is idle, later when none is (the two threads then take turns).
 * @throws RdbFormatError (with the byte offset) or RdbVersionError, as auditDumpFile.
 */
export async function auditDumpFileThreaded(path: string, options: AuditDumpOptions = {}): Promise<ScanReport> {
  const started = performance.now();
  const mtime = statSync(path).mtimeMs;
  const { port1, port2 } = new MessageChannel();
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const { policy, top, maxPatterns, clusterMin } = options;
  const job: AggregateJob = { port: port2, control, node: path, options: { policy, top, maxPatterns, clusterMin } };
  const worker = startWorker('aggregate-worker', job, [port2]);
  let dump: DumpRead;
  try {
    const writer = new HandoffWriter(port1, control);
    dump = readDump(
      path,
      mtime,
      (o) => readRdbFile(path, o),
      options,
      () => writer,
    );
    writer.end();
  } catch (err) {
    abortHandoff(control);
    port1.close();
    void worker.terminate();
    throw err;
  }
  try {
    const agg = await new Promise<Aggregation>((resolve, reject) => {
      // Buffers sent back after the last batch are of no use any more.
      const settle = (reply: HandoffReply<Aggregation>) => {
        if ('result' in reply) resolve(reply.result);
        else if ('error' in reply) reject(new Error(`aggregating thread: ${reply.error.message}`));
      };
      port1.on('message', settle);
      worker.once('error', reject);
      worker.once('exit', (code) => {
        // The answer may still be queued when the thread's exit is seen.
        for (let got = receiveMessageOnPort(port1); got; got = receiveMessageOnPort(port1)) settle(got.message as HandoffReply<Aggregation>);
        reject(new Error(`the aggregating thread for ${path} exited with code ${code}`));
      });
    });
    return dumpReport(path, dump, agg, performance.now() - started, options);
  } finally {
    port1.close();
  }
}

/**
 * True when a core is idle beside this thread, so a second thread runs beside it instead of
 * taking turns with it: on Linux, the count of runnable threads (fourth field of
 * /proc/loadavg, this one included) is below the cores. False elsewhere and when unknown.
 */
export function idleCore(cores = availableParallelism(), loadavg = readLoadavg): boolean {
  if (cores < 2) return false;
  const text = loadavg();
  const runnable = text === undefined ? NaN : Number(/^\S+ \S+ \S+ (\d+)\//.exec(text)?.[1]);
  return runnable < cores;
}

/**
 * `idleCore`, looked at a few times a millisecond apart: the count is of this instant, and
 * this process' own helper threads (V8's compiler and GC) may be running at it.
 */
async function idleCoreNow(): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    if (idleCore()) return true;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return false;
}

function readLoadavg(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return readFileSync('/proc/loadavg', 'latin1');
  } catch {
    return undefined;
  }
}

/** Audit dump files (in parallel when more than one) into one report. */
export async function auditDumps(paths: readonly string[], options: AuditDumpsOptions = {}): Promise<ScanReport> {
  const { onProgress, threads, ...rest } = options;
  const sizes = paths.map((p) => statSync(p).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (paths.length === 1) {
    const one = { ...rest, onProgress: (b: number) => onProgress?.(b, total) };
    const two = threads === undefined ? sizes[0] >= THREADED_MIN_BYTES && (await idleCoreNow()) : threads >= 2;
    return two ? auditDumpFileThreaded(paths[0], one) : auditDumpFile(paths[0], one);
  }
  const done = paths.map(() => 0);
  const report = (i: number, bytes: number) => {
    done[i] = bytes;
    onProgress?.(
      done.reduce((a, b) => a + b, 0),
      total,
    );
  };
  const reports: ScanReport[] = new Array(paths.length);
  let next = 0;
  const lanes = Math.max(1, Math.min(paths.length, threads ?? availableParallelism()));
  const lane = async () => {
    for (let i = next++; i < paths.length; i = next++) {
      reports[i] = await runWorker({ path: paths[i], options: rest }, (b) => report(i, b));
      report(i, sizes[i]);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return mergeReports(reports, { top: rest.top });
}
