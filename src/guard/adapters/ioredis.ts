/**
 * The guard for ioredis (`Redis` and `Cluster`). Every ioredis command — methods, `call`,
 * scripts defined with `defineCommand` — ends in `sendCommand(command)` on the client (or on a
 * Pipeline for `pipeline()` / `multi()`), so the proxy intercepts exactly there.
 *
 * - A lone command that needs `PEXPIRE … NX` is sent as `MULTI; cmd; PEXPIRE; EXEC` and the
 *   caller's promise gets the command's own reply (or error), as the raw client gives it. On a
 *   Cluster the two are written back to back instead (see `sendBackToBack`); blocking commands
 *   never go in a MULTI, where Redis does not block (see `sendBlocking`).
 * - In the application's pipelines and transactions the PEXPIREs are queued right after their
 *   command, settled against the whole batch at `exec()`, and their replies are removed from
 *   what `exec()` returns.
 * - `multi({ pipeline: false })` (MULTI sent at once, commands queued on the server) is
 *   followed command by command; the hidden replies are removed from EXEC's reply.
 */
import { commandInfo, decidesTtl, type Arg } from '../commands.js';
import type { GuardPlanner, TtlFix } from '../planner.js';

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

/** The application's own ioredis `Command` class (ioredis 5, 6 or iovalkey), read from a command it built. */
type CommandClass = new (name: string, args: Arg[], options?: { replyEncoding?: null }) => IoCommand;
const classOf = (command: IoCommand): CommandClass => command.constructor as CommandClass;

/**
 * `PEXPIRE key ms NX`, built with the same `Command` class as the command it follows: never a
 * class from another copy of ioredis, whose commands the application's client cannot send.
 */
const pexpire = (like: IoCommand, key: Arg, ttlMs: number): IoCommand => new (classOf(like))('pexpire', [key, String(ttlMs), 'NX']);

/** Wrap an ioredis client; the result has the input's type and API. */
export function guardIoredis<T extends object>(client: T, planner: GuardPlanner): T {
  const target = client as unknown as IoredisLike;
  const manual = { open: false, position: 0, hidden: [] as number[] };
  const clustered = (client as { isCluster?: boolean }).isCluster === true;

  function sendAlone(command: IoCommand, stream?: unknown, node?: unknown): unknown {
    // A stream means a pipeline is flushing commands the guard has already seen.
    if (stream !== undefined || command.inTransaction) return target.sendCommand(command, stream, node);
    if (manual.open || command.name === 'multi') return sendInManualMulti(command);
    let fix: TtlFix;
    try {
      fix = planner.single(command.name, command.args, 0);
    } catch (err) {
      command.reject(err);
      return command.promise;
    }
    if (fix === undefined) return target.sendCommand(command);
    if (typeof fix === 'string') {
      // The Command's argument array is its own (ioredis copies the caller's arguments).
      command.args.push('PX', fix);
      return target.sendCommand(command);
    }
    if (commandInfo(command.name).blocking) return sendBlocking(command, fix);
    if (clustered) return sendBackToBack(command, fix);

    const batch = target.multi() as IoBatch;
    // A copy with raw replies: the caller's command converts the reply exactly as it would have.
    batch.sendCommand(new (classOf(command))(command.name, command.args, { replyEncoding: null }));
    for (const [key, ttlMs] of fix) batch.sendCommand(pexpire(command, key, ttlMs));
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

  /**
   * A Cluster runs a transaction behind its slot resolution, so a command the caller sends right
   * after would overtake it (a GET after a guarded DECR read the old value). There a copy of the
   * command and its PEXPIRE … NX are sent back to back, in the same tick, to the key's node, and
   * the caller gets the command's reply once the key has its TTL.
   */
  function sendBackToBack(command: IoCommand, expires: Array<[Arg, number]>): unknown {
    const copy = new (classOf(command))(command.name, command.args, { replyEncoding: null });
    target.sendCommand(copy);
    const send = ([key, ttlMs]: [Arg, number]): Promise<unknown> => {
      const extra = pexpire(command, key, ttlMs);
      target.sendCommand(extra);
      return extra.promise.catch(() => undefined);
    };
    const first = expires.map(send);
    copy.promise.then(
      async (value) => {
        // A cluster client may still reorder the two (iovalkey does, and any client does across a
        // MOVED redirect): a PEXPIRE that found no key then answered 0. Sent again, NX keeps it
        // harmless where the 0 meant the key already had a TTL.
        const replies = await Promise.all(first);
        await Promise.all(expires.filter((_, i) => replies[i] !== 1).map(send));
        command.resolve(value);
      },
      (err: unknown) => command.reject(err),
    );
    return command.promise;
  }

  /**
   * BLMOVE / BRPOPLPUSH: inside MULTI Redis never blocks (they would return nil at once), so the
   * command is sent as it is and its PEXPIRE … NX right after a reply that moved an element —
   * before the caller's code resumes, so the caller's next command comes after it.
   */
  function sendBlocking(command: IoCommand, expires: Array<[Arg, number]>): unknown {
    // The reply is handed over once the PEXPIREs are answered: the caller never sees the moved
    // element's key without its TTL.
    const resolve = command.resolve;
    command.resolve = (reply) => {
      if (reply === null) return resolve(reply);
      const answered = expires.map(([key, ttlMs]) => {
        const extra = pexpire(command, key, ttlMs);
        target.sendCommand(extra);
        return extra.promise.catch(() => undefined);
      });
      void Promise.all(answered).then(() => resolve(reply));
    };
    return target.sendCommand(command);
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
    let fix: TtlFix;
    try {
      fix = planner.single(command.name, command.args, 0);
    } catch (err) {
      command.reject(err);
      return command.promise;
    }
    if (typeof fix === 'string') command.args.push('PX', fix);
    const promise = target.sendCommand(command);
    manual.position++;
    for (const [key, ttlMs] of Array.isArray(fix) ? fix : []) {
      const extra = pexpire(command, key, ttlMs);
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

  // Cluster: the per-node clients it hands out (`cluster.nodes('master')`) are guarded too, each
  // wrapped once so the same node is the same object on every call.
  const nodeViews = new WeakMap<object, object>();
  function nodes(...args: unknown[]): unknown {
    const real = (client as unknown as { nodes(...a: unknown[]): unknown }).nodes(...args);
    if (!Array.isArray(real)) return real;
    return real.map((node: object) => {
      let view = nodeViews.get(node);
      if (view === undefined) nodeViews.set(node, (view = guardIoredis(node, planner)));
      return view;
    });
  }

  const overrides = new Map<string | symbol, unknown>([
    ['sendCommand', sendAlone],
    ['pipeline', pipeline],
    ['multi', multi],
    ['duplicate', (...args: unknown[]) => guardIoredis((client as unknown as { duplicate(...a: unknown[]): object }).duplicate(...args), planner)],
    ['nodes', nodes],
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

/** A PEXPIRE queued right after its command, to be confirmed (or turned into a PTTL) at exec. */
interface Slot {
  /** Index of its command among the batch's commands. */
  command: number;
  /** Position of its reply in exec()'s result. */
  reply: number;
  key: Arg;
  queued: IoCommand;
}

/** `results` without the entries at `hidden` (ascending positions). */
function withoutHidden<T>(results: T[], hidden: readonly number[]): T[] {
  const out: T[] = [];
  let h = 0;
  for (let i = 0; i < results.length; i++) {
    if (h < hidden.length && hidden[h] === i) h++;
    else out.push(results[i]);
  }
  return out;
}

/**
 * Guard a pipeline or transaction (a fresh Pipeline, so the guard may set its methods).
 *
 * In default mode each command is planned as it is queued: a SET gets its `PX` at once, a
 * creating write its PEXPIRE right after it (so a later SELECT, RENAME or MOVE in the batch
 * sees the key with its TTL). Only when a command queued later decides the TTL of some key
 * itself (EXPIRE, SET … EX, PERSIST, …) is the whole batch re-planned at `exec()`: where the
 * application sets a key's TTL later in the batch, its choice wins (the `PX` is taken back, the
 * PEXPIRE becomes a harmless PTTL). The guard's replies are dropped from the result (`length`
 * does not count them). Strict and warn modes only judge the
 * batch at `exec()`, before anything is sent.
 */
function guardBatch(batch: IoBatch, planner: GuardPlanner, offset: number): IoBatch {
  const queue = batch.sendCommand.bind(batch);
  const exec = batch.exec.bind(batch);
  const isDefault = planner.mode === 'default';
  const seen: IoCommand[] = [];
  const slots: Slot[] = [];
  // SETs given `PX ttl` when queued (two arguments, taken back if the batch is re-planned).
  const appended: IoCommand[] = [];
  let changed = false; // the guard has added something to this batch
  let replan = false; // …and a later command decides some key's TTL itself
  let hiddenQueued = 0; // the guard's PEXPIREs in the queue, which `length` does not count
  // `length` is an own, non-configurable getter on ioredis pipelines: a view answers it instead.
  const view = new Proxy(batch, {
    get: (obj, prop) => (prop === 'length' ? obj.length - hiddenQueued : (Reflect.get(obj, prop, obj) as unknown)),
  });

  batch.sendCommand = (command: IoCommand) => {
    const index = seen.push(command) - 1;
    queue(command);
    if (!isDefault) return view;
    const info = commandInfo(command.name);
    const fix = planner.fix(info, command.args, 0);
    if (fix === undefined) {
      if (changed && !replan) replan = decidesTtl(info, command.args, 0);
      return view;
    }
    changed = true;
    if (typeof fix === 'string') {
      // The common case, a SET: two arguments on the Command's own array, nothing else to track.
      appended.push(command);
      command.args.push('PX', fix);
      return view;
    }
    for (const [key, ttlMs] of fix) {
      const queued = pexpire(command, key, ttlMs);
      slots.push({ command: index, reply: batch.length - offset, key, queued });
      queue(queued);
      hiddenQueued++;
    }
    return view;
  };

  /** Re-plan the batch as a whole: drop what later commands of the batch decide themselves. */
  function replanBatch(): void {
    for (const command of appended) command.args.length -= 2;
    const fixes = planner.planBatch(seen, 0);
    let s = 0;
    seen.forEach((command, i) => {
      const fix = fixes?.[i];
      if (typeof fix === 'string') command.args.push('PX', fix);
      const expires = Array.isArray(fix) ? fix : undefined;
      let e = 0;
      for (; s < slots.length && slots[s].command === i; s++) {
        // The batch's plan is a subsequence of what was queued: keys the application covers drop out.
        if (expires !== undefined && e < expires.length && expires[e][0] === slots[s].key) e++;
        else Object.assign(slots[s].queued, { name: 'pttl', args: [slots[s].key] });
      }
    });
  }

  /** Settle the batch; returns the reply positions to drop (ascending). */
  function settle(): number[] {
    if (!isDefault) planner.planBatch(seen, 0);
    else if (replan) replanBatch();
    return slots.map((slot) => slot.reply);
  }

  batch.exec = (callback) => {
    let promise: Promise<BatchResult>;
    try {
      const hidden = settle();
      promise = hidden.length === 0 ? exec() : exec().then((results) => results && withoutHidden(results, hidden));
    } catch (err) {
      promise = Promise.reject(err);
    }
    seen.length = 0;
    slots.length = 0;
    appended.length = 0;
    changed = false;
    replan = false;
    // ioredis calls exec() again itself once a cluster is ready, with a non-function argument.
    if (typeof callback === 'function')
      promise.then(
        (r) => callback(null, r),
        (e: Error) => callback(e),
      );
    return promise;
  };
  return view;
}
