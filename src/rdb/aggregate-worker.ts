/**
 * Worker thread body of `auditDumpFileThreaded`: aggregates one dump's keys as the parsing
 * thread hands them over (handoff.ts), then answers with the aggregation over the same port.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { Aggregator, type AggregateOptions, type Aggregation } from '../keyspace/aggregate.js';
import { failHandoff, takeBatches, type HandoffReply } from './handoff.js';

export interface AggregateJob {
  port: MessagePort;
  control: SharedArrayBuffer;
  /** The node every key is reported under (the dump's path). */
  node: string;
  options: Omit<AggregateOptions, 'now'>;
}

const job = workerData as AggregateJob | undefined;
if (job?.port) {
  const { port, control, node, options } = job;
  try {
    // Every key comes with the time its TTL was judged at: the aggregator's own `now` is not used.
    const aggregator = new Aggregator(options);
    takeBatches(port, control, (key, start, end, db, type, ttlMs, bytes, length, now) =>
      aggregator.addKey(key, start, end, db, node, type, ttlMs, bytes, length, now),
    );
    port.postMessage({ result: aggregator.finish() } satisfies HandoffReply<Aggregation>);
  } catch (err) {
    failHandoff(port, control, err);
  }
}
