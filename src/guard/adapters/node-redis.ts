/**
 * The guard for node-redis 5 and 6 (`createClient` and `createCluster`); node-redis 4: node-redis4.ts.
 *
 * node-redis command methods run `this._self._executeCommand(command, parser, …)`; on a cluster
 * `this._self._execute(firstKey, …, fn)` (v5) or `this._self._executeWithPolicies(parser, …,
 * makeFn)` (v6) picks a node and calls `fn(nodeClient, options)`, which runs
 * `nodeClient._executeCommand(…)` or, for `sendCommand`, `nodeClient.sendCommand(args, …)`.
 * `_self` is the real client instance. The proxy calls each command method with a small
 * stand-in `this` whose `_self` routes those calls through the guard, and passes everything
 * else (connect, quit, pub/sub, getters) to the client untouched.
 *
 * - A command that needs `PEXPIRE … NX` is sent as `MULTI; cmd; PEXPIRE; EXEC` through the
 *   node's own `sendCommand`, in the same tick (so it keeps its place among the caller's
 *   commands), EXEC decoded with the caller's type mapping (so the reply is the one the raw
 *   client gives); the caller gets the command's reply, transformed as usual. While the client
 *   is WATCHing, a MULTI would end the watch, so the two are pipelined instead.
 * - Blocking commands (BLMOVE, BRPOPLPUSH) never go in a MULTI, where Redis does not block:
 *   their PEXPIRE follows a reply that moved an element.
 * - `multi()` returns the library's own Multi object built with guarded executors: at `exec()`
 *   each PEXPIRE is put right after its command and its reply removed before the Multi
 *   transforms the replies; strict/warn modes check the whole queue before anything is sent.
 * - Per-node clients a guarded cluster hands out (`nodeClient`, `getNodeClientForKey`) are
 *   guarded too.
 */
import { commandInfo, type Arg } from '../commands.js';
import type { Expires, GuardPlanner, TtlFix } from '../planner.js';

export type RedisArgs = Arg[] & { preserve?: unknown };
type Transform = ((reply: unknown, preserve?: unknown, typeMapping?: unknown) => unknown) | undefined;
export interface CommandOptions {
  typeMapping?: object;
  chainId?: symbol;
  abortSignal?: unknown;
  asap?: boolean;
  /** v6 cluster: the slot the command's node serves (maintenance handoffs). */
  slotNumber?: number;
  /** v4: `commandOptions({ returnBuffers, signal, isolated })`. */
  returnBuffers?: boolean;
  signal?: unknown;
  isolated?: boolean;
}
interface Parser {
  readonly redisArgs: RedisArgs;
  readonly preserve?: unknown;
  push(...args: Arg[]): void;
}
export interface QueuedCommand {
  args: RedisArgs;
  transformReply?: Transform;
}

/** The internals of a node-redis client instance (one node) that the adapter relies on. */
interface NodeClient {
  _self: NodeClient;
  _commandOptions?: CommandOptions;
  isWatching?: boolean;
  readonly isReady: boolean;
  _executeCommand(command: unknown, parser: Parser, options: CommandOptions | undefined, transform: Transform): Promise<unknown>;
  _executeScript(script: unknown, parser: Parser, options: CommandOptions | undefined, transform: Transform): Promise<unknown>;
  _executeMulti(commands: QueuedCommand[], selectedDB?: number, slotNumber?: number, chainId?: symbol): Promise<unknown[]>;
  _executePipeline(commands: QueuedCommand[], selectedDB?: number): Promise<unknown[]>;
  sendCommand(args: RedisArgs, options?: CommandOptions): Promise<unknown>;
}

type NodeExecutor = (client: NodeClient, options: CommandOptions | undefined) => Promise<unknown>;

/** The internals of a node-redis cluster that the adapter relies on (v5: `_execute`, v6: `_executeWithPolicies`). */
interface ClusterClient {
  _self: ClusterClient;
  _commandOptions?: CommandOptions;
  _execute(...args: unknown[]): Promise<unknown>;
  _executeWithPolicies?(
    parser: Parser,
    isReadonly: boolean | undefined,
    options: CommandOptions | undefined,
    makeFn: (p: Parser) => NodeExecutor,
  ): Promise<unknown>;
  sendCommand(firstKey: Arg | undefined, isReadonly: boolean | undefined, args: RedisArgs, options?: CommandOptions): Promise<unknown>;
}

/** True for a node-redis client pool (`createClientPool`), which the guard does not wrap. */
export function isNodeRedisPool(client: unknown): boolean {
  const c = client as { execute?: unknown; MULTI?: unknown };
  return typeof c?.execute === 'function' && typeof c.MULTI === 'function' && 'idleClients' in (client as object) && 'totalClients' in (client as object);
}

/** True for a node-redis 5 or 6 client or cluster. */
export function isNodeRedis(client: unknown): boolean {
  const c = client as { _self?: unknown; MULTI?: unknown; sendCommand?: unknown };
  return typeof c?.MULTI === 'function' && typeof c.sendCommand === 'function' && typeof c._self === 'object';
}

function isCluster(client: unknown): boolean {
  return (
    typeof (client as { _execute?: unknown; getSlotMaster?: unknown })._execute === 'function' &&
    typeof (client as { getSlotMaster?: unknown }).getSlotMaster === 'function'
  );
}

/** Names of the command methods node-redis attached to this client's class. */
function commandMethodNames(client: { _self: object }): Set<string> {
  const proto = Object.getPrototypeOf(client._self) as object;
  const names = new Set<string>();
  for (const name of Object.getOwnPropertyNames(proto)) {
    const desc = Object.getOwnPropertyDescriptor(proto, name);
    if (name !== 'constructor' && name !== 'Multi' && typeof desc?.value === 'function') names.add(name);
  }
  return names;
}

export const pexpireArgs = (key: Arg, ttlMs: number): QueuedCommand => ({ args: ['PEXPIRE', key, String(ttlMs), 'NX'] });

export const ignore = (): undefined => undefined;

/**
 * True when the library's own MULTI behaves as the command alone would: no type mapping
 * (node-redis decodes EXEC with the default one), no abort signal, no `asap` — in the caller's
 * options or the client's (`sendCommand` merges the two) — and a connected client. Offline,
 * `sendCommand` is what honours `disableOfflineQueue` and the per-command timeout (which only
 * runs while a command waits to be written).
 */
function fitsLibraryMulti(node: NodeClient, options: CommandOptions | undefined): boolean {
  return node.isReady && plainOptions(options) && plainOptions(node._commandOptions);
}

function plainOptions(o: CommandOptions | undefined): boolean {
  if (o === undefined) return true;
  const mapping = o.typeMapping;
  if (mapping !== undefined && Object.keys(mapping).length > 0) return false;
  return o.abortSignal === undefined && !o.asap;
}

/**
 * Send the command with its PEXPIREs atomically on one node (`MULTI; cmd; PEXPIRE…; EXEC`);
 * resolve to the command's raw reply. Everything is queued synchronously, so a command the
 * caller sends next comes after them.
 *
 * - The usual case (connected, default options) goes through the node's own `_executeMulti`,
 *   the path of `client.multi()….exec()`: it queues the four at once, with no per-command timer
 *   (node-redis 6 gives every `sendCommand` a 5 s timeout signal, which cost more than the rest
 *   of the write; it only runs while a command waits to be written, which a connected client's
 *   commands do for one tick).
 * - Under a type mapping, an abort signal or `asap`, or while the client is not ready, the four
 *   go through the node's own `sendCommand`, EXEC carrying the caller's options, so its reply is
 *   decoded with the caller's type mapping as the command's own reply would have been.
 * - While the client is WATCHing, a MULTI would end the application's watch: the PEXPIREs are
 *   pipelined right behind the command instead.
 */
function sendWithExpires(node: NodeClient, args: RedisArgs, expires: Expires, options: CommandOptions | undefined): Promise<unknown> {
  if (node.isWatching) {
    const reply = node.sendCommand(args, options);
    for (const [key, ttlMs] of expires) node.sendCommand(pexpireArgs(key, ttlMs).args).catch(ignore);
    return reply;
  }
  if (fitsLibraryMulti(node, options)) {
    const queue: QueuedCommand[] = [{ args }];
    for (const [key, ttlMs] of expires) queue.push(pexpireArgs(key, ttlMs));
    // A command refused when queued (EXECABORT) rejects the whole batch with its own error.
    return node._executeMulti(queue, undefined, options?.slotNumber, options?.chainId).then(firstReply);
  }
  return sendChained(node, args, expires, options);
}

function firstReply(replies: unknown[]): unknown {
  const reply = replies[0];
  if (reply instanceof Error) throw reply;
  return reply;
}

/** `MULTI; cmd; PEXPIRE…; EXEC` as four `sendCommand`s, EXEC decoded with the caller's options. */
export async function sendChained(
  node: Pick<NodeClient, 'sendCommand'>,
  args: RedisArgs,
  expires: Expires,
  options: CommandOptions | undefined,
): Promise<unknown> {
  const chainId = Symbol('keywarden guard MULTI');
  node.sendCommand(['MULTI'], { chainId }).catch(ignore);
  const queued = node.sendCommand(args, { ...options, chainId });
  queued.catch(ignore);
  for (const [key, ttlMs] of expires) node.sendCommand(pexpireArgs(key, ttlMs).args, { chainId }).catch(ignore);
  let replies: unknown;
  try {
    replies = await node.sendCommand(['EXEC'], { ...options, chainId });
  } catch (err) {
    // EXECABORT: the command itself was refused when queued; the caller gets that error.
    throw (await queued.then(ignore, (e: unknown) => e)) ?? err;
  }
  return firstReply(replies as unknown[]);
}

/**
 * Blocking commands: sent alone (so they block), their PEXPIREs (sent with `send`) after a reply
 * that moved something.
 */
export function afterBlocking(send: (args: RedisArgs) => Promise<unknown>, reply: Promise<unknown>, expires: Expires): Promise<unknown> {
  // The reply is handed over once the PEXPIREs are answered: the caller never sees the moved
  // element's key without its TTL.
  return reply.then(async (value) => {
    if (value !== null) await Promise.all(expires.map(([key, ttlMs]) => send(pexpireArgs(key, ttlMs).args).catch(ignore)));
    return value;
  });
}

/**
 * Execute one planned command on a node: the library's own path unless PEXPIREs must follow.
 * Not async: a command that needs nothing or only `PX` returns the library's own promise, with
 * no extra promise and tick per command.
 */
function executeOnNode(
  node: NodeClient,
  planner: GuardPlanner,
  command: unknown,
  parser: Parser,
  options: CommandOptions | undefined,
  transform: Transform,
): Promise<unknown> {
  const args = parser.redisArgs;
  let fix: TtlFix;
  try {
    fix = planner.single(String(args[0]), args, 1);
  } catch (err) {
    return Promise.reject(err); // strict mode: the command's promise rejects, as from an async function
  }
  if (fix === undefined) return node._executeCommand(command, parser, options, transform);
  // The parser's array is the library's, made for this call: PX goes on it as SET's own option would.
  if (typeof fix === 'string') {
    parser.push('PX', fix);
    return node._executeCommand(command, parser, options, transform);
  }
  if (commandInfo(String(args[0])).blocking) return afterBlocking((a) => node.sendCommand(a), node._executeCommand(command, parser, options, transform), fix);
  return sendWithExpires(node, args, fix, options).then((reply) => (transform ? transform(reply, parser.preserve, options?.typeMapping) : reply));
}

/** `sendCommand(args, options)` on one node, planned: the raw path, with nothing transformed. */
function sendOnNode(node: NodeClient, planner: GuardPlanner, args: RedisArgs, options: CommandOptions | undefined): Promise<unknown> {
  let fix: TtlFix;
  try {
    fix = planner.single(String(args[0]), args, 1);
  } catch (err) {
    return Promise.reject(err);
  }
  if (fix === undefined) return node.sendCommand(args, options);
  if (typeof fix === 'string') return node.sendCommand(withPx(args, fix), options);
  if (commandInfo(String(args[0])).blocking) return afterBlocking((a) => node.sendCommand(a), node.sendCommand(args, options), fix);
  return sendWithExpires(node, args, fix, options);
}

/**
 * A node client as the guard hands it to node-redis' cluster code: the real client, with
 * command execution and `sendCommand` planned (everything else read from the client itself).
 */
function guardedNode(node: NodeClient, planner: GuardPlanner): NodeClient {
  const view = Object.create(node) as NodeClient;
  view._executeCommand = (command, parser, options, transform) => executeOnNode(node, planner, command, parser, options, transform);
  view._executeScript = (...a) => {
    planner.single('evalsha', [], 0);
    return node._executeScript(...a);
  };
  view.sendCommand = (args, options) => sendOnNode(node, planner, args, options);
  return view;
}

/**
 * A copy of the arguments with `PX ttl` appended: the application's own array (`addCommand`,
 * `sendCommand`) is never edited. Built as an array literal for the usual `SET key value`:
 * `concat` (V8's generic path for arrays that carry a `preserve` property) cost more per
 * pipelined SET than matching its key.
 */
export function withPx(args: RedisArgs, ttl: string): RedisArgs {
  let out: RedisArgs;
  if (args.length === 3) out = [args[0], args[1], args[2], 'PX', ttl];
  else {
    out = args.slice();
    out.push('PX', ttl);
  }
  if (args.preserve !== undefined) out.preserve = args.preserve;
  return out;
}

/**
 * Give a queued SET its `PX ttl`. The arguments of a command queued by a command method
 * (`multi.set(…)`) are an array node-redis built for that entry and marked with its own
 * `preserve` property: `PX` is pushed onto it, as SET's own option would have been, with no
 * copy (on a pipeline of SETs the copy and the garbage it left were a visible part of the
 * guard's cost). An array without that mark may be the application's own (`addCommand(args)`
 * queues the caller's array as it is): that one is copied, never edited.
 */
function appendPx(cmd: QueuedCommand, ttl: string): void {
  const args = cmd.args;
  if ('preserve' in args) args.push('PX', ttl);
  else cmd.args = withPx(args, ttl);
}

/**
 * Rewrite a MULTI/pipeline queue: strict/warn modes check it (and may throw, before anything is
 * sent); default mode appends `PX` to SETs and puts each PEXPIRE right after its command.
 * Returns the queue to send and the positions of the guard's replies (ascending).
 *
 * A SET gets its `PX` in its entry of node-redis' own queue (see `appendPx`), so a batch that
 * only adds `PX` is sent as it is, without a copy of the queue. Executing the same Multi again is
 * harmless: its SETs then carry a TTL already.
 */
export function planQueue(planner: GuardPlanner, queue: QueuedCommand[]): { queue: QueuedCommand[]; hidden: number[] | undefined } {
  const fixes = planner.planBatch(queue, 1);
  if (fixes === undefined) return { queue, hidden: undefined };
  let out: QueuedCommand[] | undefined;
  let hidden: number[] | undefined;
  for (let i = 0; i < queue.length; i++) {
    const cmd = queue[i];
    const fix = fixes[i];
    if (typeof fix === 'string') appendPx(cmd, fix);
    out?.push(cmd);
    if (fix === undefined || typeof fix === 'string') continue;
    out ??= queue.slice(0, i + 1);
    hidden ??= [];
    for (const [key, ttlMs] of fix) {
      hidden.push(out.length);
      out.push(pexpireArgs(key, ttlMs));
    }
  }
  return { queue: out ?? queue, hidden };
}

/** `replies` without the entries at `hidden` (ascending positions). */
export function withoutHidden(replies: unknown[], hidden: readonly number[]): unknown[] {
  const out: unknown[] = [];
  let h = 0;
  for (let i = 0; i < replies.length; i++) {
    if (h < hidden.length && hidden[h] === i) h++;
    else out.push(replies[i]);
  }
  return out;
}

type MultiExecutor = (...args: unknown[]) => Promise<unknown[]>;

function guardExecutor(planner: GuardPlanner, exec: MultiExecutor, queueAt: number): MultiExecutor {
  return async (...args) => {
    const planned = planQueue(planner, args[queueAt] as QueuedCommand[]);
    args[queueAt] = planned.queue;
    const replies = await exec(...args);
    return planned.hidden === undefined ? replies : withoutHidden(replies, planned.hidden);
  };
}

/** Methods that return a re-configured view of the client: their result is guarded too. */
const DERIVED = new Set(['duplicate', 'withCommandOptions', 'withTypeMapping', 'withAbortSignal', 'asap']);
/** Cluster methods that hand out one node's client (or a promise of it): guarded too. */
const NODE_CLIENTS = new Set(['nodeClient', 'getNodeClientForKey']);

/** Wrap a node-redis client or cluster; the result has the input's type and API. */
export function guardNodeRedis<T extends object>(client: T, planner: GuardPlanner): T {
  const cluster = isCluster(client);
  const commands = commandMethodNames(client as unknown as { _self: object });
  const target = client as unknown as NodeClient & ClusterClient & Record<string, unknown>;

  // The stand-in `this` for command methods (see the file comment).
  let self: object;
  if (cluster) {
    const real = target._self;
    self = Object.create(real as object, {
      // v5: `_execute(firstKey, isReadonly, options, fn)`; fn gets the node.
      _execute: {
        value: (...a: unknown[]) => {
          const fn = a[3] as NodeExecutor;
          a[3] = (node: NodeClient, opts: CommandOptions | undefined) => fn(guardedNode(node, planner), opts);
          return real._execute(...a);
        },
      },
      // v6: `_executeWithPolicies(parser, isReadonly, options, makeFn)`; makeFn(parser) gets the node.
      _executeWithPolicies: {
        value: (parser: Parser, ro: boolean | undefined, options: CommandOptions | undefined, makeFn: (p: Parser) => NodeExecutor) =>
          real._executeWithPolicies?.call(real, parser, ro, options, (p) => {
            const fn = makeFn(p);
            return (node, opts) => fn(guardedNode(node, planner), opts);
          }),
      },
    });
  } else self = guardedNode(target._self, planner);
  const standIn = Object.create(target as object, {
    _self: { value: self },
    // Script methods (createClient({ scripts })) call this._executeScript directly.
    _executeScript: {
      value: (...a: Parameters<NodeClient['_executeScript']>) => {
        planner.single('evalsha', [], 0);
        return target._executeScript(...a);
      },
    },
  }) as object;

  function sendCommand(...a: unknown[]): Promise<unknown> {
    if (cluster) return (target.sendCommand as (...args: unknown[]) => Promise<unknown>).apply(standIn, a);
    const [args, options] = a as [RedisArgs, CommandOptions | undefined];
    return sendOnNode(target, planner, args, options);
  }

  function multi(...a: unknown[]): unknown {
    const RealMulti = target.Multi as new (...args: unknown[]) => unknown;
    const queueAt = cluster ? 2 : 0;
    const stage = Object.create(target) as Record<string, unknown>;
    stage.Multi = function (execMulti: MultiExecutor, execPipeline: MultiExecutor, ...rest: unknown[]) {
      return new RealMulti(guardExecutor(planner, execMulti, queueAt), guardExecutor(planner, execPipeline, queueAt), ...rest);
    };
    return (target.MULTI as (...args: unknown[]) => unknown).apply(stage, a);
  }

  const nodeViews = new WeakMap<object, object>();
  const guardNode = (node: object): object => {
    let view = nodeViews.get(node);
    if (view === undefined) nodeViews.set(node, (view = guardNodeRedis(node, planner)));
    return view;
  };

  const wrapped = new Map<string | symbol, unknown>([
    ['sendCommand', sendCommand],
    ['SEND_COMMAND', sendCommand],
    ['multi', multi],
    ['MULTI', multi],
  ]);
  return new Proxy(client, {
    get(obj, prop, receiver) {
      const hit = wrapped.get(prop);
      if (hit !== undefined) return hit;
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      let fn: unknown;
      if (commands.has(prop)) {
        const method = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]) => method.apply(standIn, args);
      } else if (DERIVED.has(prop)) {
        const method = value as (...args: unknown[]) => object;
        fn = (...args: unknown[]) => guardNodeRedis(method.apply(obj, args), planner);
      } else if (cluster && NODE_CLIENTS.has(prop)) {
        const method = value as (...args: unknown[]) => object;
        fn = (...args: unknown[]) => {
          const node = method.apply(obj, args);
          return node instanceof Promise ? node.then(guardNode) : guardNode(node);
        };
      } else return value;
      wrapped.set(prop, fn);
      return fn;
    },
  });
}
