/**
 * The guard for ioredis (`Redis` and `Cluster`). Every ioredis command — methods, `call`,
 * scripts defined with `defineCommand` — ends in `sendCommand(command)` on the client (or on a
 * Pipeline for `pipeline()` / `multi()`), so the proxy intercepts exactly there.
 *
 * - A lone command that needs `PEXPIRE … NX` is sent as `MULTI; cmd; PEXPIRE; EXEC` and the
 *   caller's promise gets the command's own reply (or error), as the raw client gives it.
 * - In the application's pipelines and transactions the PEXPIREs are queued right after their
 *   command (at `exec()`), and their replies are removed from what `exec()` returns.
 * - `multi({ pipeline: false })` (MULTI sent at once, commands queued on the server) is
 *   followed command by command; the hidden replies are removed from EXEC's reply.
 */
import { Command } from 'ioredis';
import type { Arg } from '../commands.js';
import type { GuardPlanner } from '../planner.js';

/** The parts of an ioredis Command the guard touches. */
interface IoCommand {
  name: string;
  args: Arg[];
  inTransaction?: boolean;
  promise: Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

type BatchResult = Array<[Error | null, unknown]> | null;

/** A Pipeline (also what `multi()` returns), as far as the guard uses it. */
interface IoBatch {
  sendCommand(command: IoCommand): IoBatch;
  exec(callback?: (err: Error | null, result?: BatchResult) => void): Promise<BatchResult>;
  addBatch(commands: unknown[][]): IoBatch;
  readonly length: number;
}

/** The narrow contract the adapter needs from `Redis` and `Cluster`. */
export interface IoredisLike {
  sendCommand(command: IoCommand, stream?: unknown, node?: unknown): unknown;
  pipeline(commands?: unknown[][]): unknown;
  multi(options?: { pipeline: boolean }): unknown;
}

/** True for an ioredis `Redis` or `Cluster` instance. */
export function isIoredis(client: unknown): client is IoredisLike {
  const c = client as Partial<IoredisLike> & { addBuiltinCommand?: unknown };
  return typeof c?.sendCommand === 'function' && typeof c.pipeline === 'function' && typeof c.addBuiltinCommand === 'function';
}

const pexpire = (key: Arg, ttlMs: number): IoCommand => new Command('pexpire', [key, String(ttlMs), 'NX']) as unknown as IoCommand;

/** Wrap an ioredis client; the result has the input's type and API. */
export function guardIoredis<T extends object>(client: T, planner: GuardPlanner): T {
  const target = client as unknown as IoredisLike;
  const manual = { open: false, position: 0, hidden: [] as number[] };

  function sendAlone(command: IoCommand, stream?: unknown, node?: unknown): unknown {
    // A stream means a pipeline is flushing commands the guard has already seen.
    if (stream !== undefined || command.inTransaction) return target.sendCommand(command, stream, node);
    if (manual.open || command.name === 'multi') return sendInManualMulti(command);
    let action;
    try {
      action = planner.single(command.name, command.args, 0);
    } catch (err) {
      command.reject(err);
      return command.promise;
    }
    if (action === undefined) return target.sendCommand(command);
    if (action.append) command.args.push(...action.append);
    if (!action.expires) return target.sendCommand(command);

    const batch = target.multi() as IoBatch;
    // A copy with raw replies: the caller's command converts the reply exactly as it would have.
    batch.sendCommand(new Command(command.name, command.args, { replyEncoding: null }) as unknown as IoCommand);
    for (const [key, ttlMs] of action.expires) batch.sendCommand(pexpire(key, ttlMs));
    batch.exec().then(
      (results) => {
        const [err, value] = results?.[0] ?? [new Error('EXEC returned no reply'), undefined];
        if (err) command.reject(err);
        else command.resolve(value);
      },
      (err: Error & { previousErrors?: Error[] }) => command.reject(err.previousErrors?.[0] ?? err),
    );
    return command.promise;
  }

  /** `multi({ pipeline: false })`: every command is queued on the server until EXEC. */
  function sendInManualMulti(command: IoCommand): unknown {
    const name = command.name.toLowerCase();
    if (name === 'multi') {
      Object.assign(manual, { open: true, position: 0, hidden: [] });
      return target.sendCommand(command);
    }
    if (name === 'exec' || name === 'discard') {
      const hidden = new Set(manual.hidden);
      Object.assign(manual, { open: false, position: 0, hidden: [] });
      if (name === 'exec' && hidden.size > 0) {
        const resolve = command.resolve;
        command.resolve = (reply) => resolve(Array.isArray(reply) ? reply.filter((_, i) => !hidden.has(i)) : reply);
      }
      return target.sendCommand(command);
    }
    let action;
    try {
      action = planner.single(command.name, command.args, 0);
    } catch (err) {
      command.reject(err);
      return command.promise;
    }
    if (action?.append) command.args.push(...action.append);
    const promise = target.sendCommand(command);
    manual.position++;
    for (const [key, ttlMs] of action?.expires ?? []) {
      const extra = pexpire(key, ttlMs);
      extra.promise.catch(() => undefined);
      target.sendCommand(extra);
      manual.hidden.push(manual.position++);
    }
    return promise;
  }

  function pipeline(commands?: unknown[][]): IoBatch {
    const batch = guardBatch(target.pipeline() as IoBatch, planner, 0);
    if (Array.isArray(commands)) batch.addBatch(commands);
    return batch;
  }

  function multi(commands?: unknown[][] | { pipeline: boolean }, options?: { pipeline: boolean }): unknown {
    if (!Array.isArray(commands) && options === undefined) options = commands ?? undefined;
    // MULTI goes out at once; sendAlone follows the transaction command by command.
    if (options?.pipeline === false) return target.multi.call(proxy, options);
    // The first queued command is MULTI itself: EXEC's replies start at queue position 1.
    const batch = guardBatch(target.multi() as IoBatch, planner, 1);
    if (Array.isArray(commands)) batch.addBatch(commands);
    return batch;
  }

  const overrides = new Map<string | symbol, unknown>([
    ['sendCommand', sendAlone],
    ['pipeline', pipeline],
    ['multi', multi],
    ['duplicate', (...args: unknown[]) => guardIoredis((client as unknown as { duplicate(...a: unknown[]): object }).duplicate(...args), planner)],
  ]);
  // Writes go through the proxy to the client itself (ioredis keeps its state on `this`).
  const proxy = new Proxy(client, {
    get(obj, prop) {
      const override = overrides.get(prop);
      return override !== undefined ? override : (obj as Record<string | symbol, unknown>)[prop];
    },
  });
  return proxy;
}

/**
 * Guard a pipeline or transaction. Commands are held back until `exec()`, so the whole batch
 * is planned at once (an EXPIRE the application queues later for the same key wins over the
 * policy's TTL, and strict/warn modes judge the batch before anything is sent); then they are
 * queued in order, each creating write followed by its PEXPIRE (so a later SELECT, RENAME or
 * MOVE in the batch sees the key with its TTL), and the PEXPIRE replies are dropped from the
 * result. `offset` is how many queued commands precede EXEC's replies (MULTI: 1). A proxy
 * keeps `length` counting the held-back commands.
 */
function guardBatch(batch: IoBatch, planner: GuardPlanner, offset: number): IoBatch {
  const queue = batch.sendCommand.bind(batch);
  const exec = batch.exec.bind(batch);
  const pending: IoCommand[] = [];

  function flush(): Set<number> {
    const actions = planner.planBatch(pending, 0);
    const hidden = new Set<number>();
    pending.forEach((command, i) => {
      const action = actions?.[i];
      if (action?.append) command.args.push(...action.append);
      queue(command);
      for (const [key, ttlMs] of action?.expires ?? []) {
        hidden.add(batch.length - offset);
        queue(pexpire(key, ttlMs));
      }
    });
    pending.length = 0;
    return hidden;
  }

  function execGuarded(callback?: (err: Error | null, result?: BatchResult) => void): Promise<BatchResult> {
    let promise: Promise<BatchResult>;
    try {
      const hidden = flush();
      promise = hidden.size === 0 ? exec() : exec().then((results) => results && results.filter((_, i) => !hidden.has(i)));
    } catch (err) {
      promise = Promise.reject(err);
    }
    if (typeof callback === 'function') promise.then((r) => callback(null, r), (e: Error) => callback(e));
    return promise;
  }

  const hold = (command: IoCommand): IoBatch => {
    pending.push(command);
    return guarded;
  };
  const guarded: IoBatch = new Proxy(batch, {
    get(obj, prop) {
      if (prop === 'sendCommand') return hold;
      if (prop === 'exec') return execGuarded;
      if (prop === 'length') return obj.length + pending.length;
      return (obj as unknown as Record<string | symbol, unknown>)[prop];
    },
  });
  return guarded;
}
