/**
 * `rdb --fetch`: a fresh snapshot over the replication protocol, parsed as it arrives. A
 * network thread speaks to the server and fills a shared ring; the reader on this thread
 * pulls from it, so neither side holds more than the ring (8 MB) whatever the dataset size.
 * Nothing is written to disk unless `save` is given.
 */
import { ConnectionError } from '../errors.js';
import type { TargetSpec } from '../target/spec.js';
import type { FetchJob } from './fetch-worker.js';
import type { ByteSource } from './input.js';
import { createRing, RingReader } from './ring.js';
import { startWorker } from './thread.js';

export interface FetchedSnapshot {
  source: ByteSource;
  /** Stop the network thread (call when done or on error). */
  close(): Promise<void>;
}

/** Open a snapshot stream from the server of `spec`. */
export function fetchSnapshot(spec: TargetSpec, options: { save?: string } = {}): FetchedSnapshot {
  const ring = createRing();
  const job: FetchJob = {
    ring,
    host: spec.host,
    port: spec.port,
    username: spec.username,
    password: spec.password,
    tls: spec.tls,
    connectTimeoutMs: spec.connectTimeoutMs,
    save: options.save,
  };
  const worker = startWorker('fetch-worker', job);
  const reader = new RingReader(ring, Math.max(spec.replyTimeoutMs, 60_000), (message) => {
    throw new ConnectionError(
      `${spec.display}: ${message}`,
      /authentication/.test(message) ? 'check the password (-a, --user, or the URL)' : 'fetch from a replica that allows SYNC, or read a dump file instead',
    );
  });
  return {
    source: {
      get size() {
        return reader.size();
      },
      read: (into, offset, length) => reader.read(into, offset, length),
    },
    close: async () => {
      await worker.terminate();
    },
  };
}
