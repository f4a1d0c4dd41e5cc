/**
 * Several dumps (one per cluster shard) read at once: one worker thread per file, as many
 * at a time as there are cores, each producing its own report; the reports are merged into
 * one keyspace with per-node (per-file) figures. One file is read on the calling thread.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { KeywardenError } from '../errors.js';
import { mergeReports } from '../keyspace/merge.js';
import type { ScanReport } from '../keyspace/report.js';
import { auditDumpFile, type AuditDumpOptions } from './audit.js';
import { RdbFormatError } from './errors.js';
import { startWorker } from './thread.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

export interface AuditDumpsOptions extends Omit<AuditDumpOptions, 'onProgress'> {
  /** Bytes read over all files, and their total size. */
  onProgress?(bytesRead: number, totalBytes: number): void;
  /** Threads at once (default: the cores available). */
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

/** Audit dump files (in parallel when more than one) into one report. */
export async function auditDumps(paths: readonly string[], options: AuditDumpsOptions = {}): Promise<ScanReport> {
  const { onProgress, threads, ...rest } = options;
  const sizes = paths.map((p) => statSync(p).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (paths.length === 1) return auditDumpFile(paths[0], { ...rest, onProgress: (b) => onProgress?.(b, total) });
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
