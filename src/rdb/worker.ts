/**
 * Worker thread body: audits one dump and posts its report (or its error) back. Started by
 * `auditDumps` when several files are read at once, one thread per file up to the cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KeywardenError } from '../errors.js';
import { auditDumpFile, type AuditDumpOptions } from './audit.js';
import { RdbFormatError } from './errors.js';

export interface WorkerJob {
  path: string;
  options: Omit<AuditDumpOptions, 'onProgress'>;
}

export type WorkerMessage =
  | { progress: number }
  | { report: ReturnType<typeof auditDumpFile> }
  | { error: { message: string; hint?: string; file?: string; offset?: number; userFacing: boolean } };

const port = parentPort;
if (port) {
  const job = workerData as WorkerJob;
  try {
    const report = auditDumpFile(job.path, { ...job.options, onProgress: (bytes) => port.postMessage({ progress: bytes } satisfies WorkerMessage) });
    port.postMessage({ report } satisfies WorkerMessage);
  } catch (err) {
    const e = err as Error;
    port.postMessage({
      error: {
        message: e.message,
        hint: err instanceof KeywardenError ? err.hint : undefined,
        ...(err instanceof RdbFormatError ? { file: err.file, offset: err.offset } : {}),
        userFacing: err instanceof KeywardenError,
      },
    } satisfies WorkerMessage);
  }
}
