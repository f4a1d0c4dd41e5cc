/**
 * Start one of this directory's worker scripts: the built `.js` next to this file, or under
 * tsx (tests, benches) the `.ts` source with tsx registered in the thread first (Node 20
 * does not pass `--import` hooks on to a worker's entry module).
 */
import { Worker, type Transferable } from 'node:worker_threads';

const FROM_SOURCE = import.meta.url.endsWith('.ts');

export function startWorker(name: string, workerData: unknown, transferList?: Transferable[]): Worker {
  const url = new URL(`./${name}${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);
  if (!FROM_SOURCE) return new Worker(url, { workerData, transferList });
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`, {
    eval: true,
    workerData,
    transferList,
  });
}
