/**
 * The guard for node-redis 4 (`createClient`, `createCluster`), which connect-redis 7 apps run.
 *
 * v4 keeps its state in private class fields (compiled to WeakMaps keyed by the instance): a
 * method run with any other `this` (a proxy, a stand-in) throws. Its command methods call an
 * executor captured when the class was built, so `commandsExecutor` cannot be replaced either.
 * The public seams this adapter uses instead:
 * - A command's arguments: the library's own `Multi` builds them. Its command methods run
 *   `this.addCommand(command.transformArguments(...args), command.transformReply)`, so calling
 *   one with a small recorder as `this` yields the exact arguments and reply transform the
 *   client method would use; the guard plans them and sends them with the public `sendCommand`
 *   (as `commandsExecutor` does), then applies the transform.
 * - A cluster's command methods run `this.sendCommand(firstKey, isReadonly, args, options)`:
 *   run with a stand-in whose `sendCommand` is planned, they need nothing else.
 * - A write that needs `PEXPIRE … NX` is sent as `MULTI; cmd; PEXPIRE; EXEC` through the public
 *   `sendCommand`, in the same tick (command order is kept), EXEC with the caller's options (so
 *   `returnBuffers` reads its reply as it would the command's). Not `multiExecutor`: it rejects
 *   with EXECABORT where the raw client gives the command's own error. While a client WATCHes
 *   (seen by the guard), the PEXPIREs are pipelined instead: a MULTI would end the watch.
 * - `multi()` returns the library's own Multi class built around a guarded executor.
 * - Everything else runs on the real client (`this` bound to it); a method that returns the
 *   client (`on`, `connect`) returns the guarded one.
 * `legacyMode` clients (callback API) are refused: their methods are per-instance closures
 * over the private send path.
 */
import { UsageError } from '../../errors.js';
import type { Arg } from '../commands.js';
import { commandInfo } from '../commands.js';
import type { Expires, GuardPlanner, TtlFix } from '../planner.js';
import {
  afterBlocking,
  ignore,
  pexpireArgs,
  planQueue,
  sendChained,
  withoutHidden,
  withPx,
  type CommandOptions,
  type QueuedCommand,
  type RedisArgs,
} from './node-redis.js';

type Transform = ((reply: unknown, preserve?: unknown) => unknown) | undefined;
type Fn = (...args: unknown[]) => unknown;

/** The public surface of a node-redis 4 client the adapter uses. */
interface Client4 {
  sendCommand(args: RedisArgs, options?: CommandOptions): Promise<unknown>;
  multiExecutor(commands: QueuedCommand[], selectedDB?: number, chainId?: symbol): Promise<unknown[]>;
  executeIsolated(fn: (client: Client4) => Promise<unknown>): Promise<unknown>;
  Multi: new (executor: Fn, legacyMode?: boolean) => object;
  options?: { legacyMode?: boolean };
}

/** The public surface of a node-redis 4 cluster the adapter uses. */
interface Cluster4 {
  sendCommand(firstKey: Arg | undefined, isReadonly: boolean | undefined, args: RedisArgs, options?: CommandOptions): Promise<unknown>;
  MULTI(routing?: Arg): Multi4;
}

interface Multi4 {
  addCommand(firstKey: Arg | undefined, args: RedisArgs, transformReply?: Transform): Multi4;
  exec(): Promise<unknown[]>;
  execAsPipeline(): Promise<unknown[]>;
}

/** True for a node-redis 4 client or cluster. */
export function isNodeRedis4(client: unknown): boolean {
  const c = client as { commandsExecutor?: unknown; _self?: unknown; MULTI?: unknown };
  return typeof c?.commandsExecutor === 'function' && c._self === undefined && typeof c.MULTI === 'function';
}

function isCluster4(client: object): boolean {
  return typeof (client as { getSlotMaster?: unknown }).getSlotMaster === 'function';
}

/** v4's `commandOptions({...})` marks its object with a module-private symbol, described so. */
function isCommandOptions(arg: unknown): arg is CommandOptions {
  if (typeof arg !== 'object' || arg === null) return false;
  return Object.getOwnPropertySymbols(arg).some((s) => s.description === 'Command Options' && (arg as Record<symbol, unknown>)[s] === true);
}

/** The prototype in `obj`'s chain that owns `name` (the library's base class). */
function ownerOf(obj: object, name: string): object | undefined {
  for (let p: object | null = obj; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.prototype.hasOwnProperty.call(p, name)) return p;
  }
  return undefined;
}

function functionNames(proto: object | undefined): Set<string> {
  const names = new Set<string>();
  if (proto === undefined) return names;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (typeof Object.getOwnPropertyDescriptor(proto, name)?.value === 'function') names.add(name);
  }
  return names;
}

/**
 * The command methods of a v4 client class (those its Multi has too, less the plumbing), and the
 * script methods its `createClient({ scripts })` added.
 */
function methodsOf(client: object, multiProto: object): { commands: Set<string>; scripts: Set<string> } {
  // By class: executeIsolated() guards a client per call.
  const proto = Object.getPrototypeOf(client) as object;
  let known = methodsByClass.get(proto);
  if (known === undefined) methodsByClass.set(proto, (known = readMethods(client, multiProto)));
  return known;
}

const methodsByClass = new WeakMap<object, { commands: Set<string>; scripts: Set<string> }>();

function readMethods(client: object, multiProto: object): { commands: Set<string>; scripts: Set<string> } {
  const base = ownerOf(client, 'commandsExecutor');
  const multiBase = ownerOf(multiProto, 'commandsExecutor');
  const multiNames = functionNames(multiBase);
  const commands = new Set<string>();
  for (const name of functionNames(base)) {
    // Less the plumbing both classes share: the executors (run by the methods) and SELECT.
    if (multiNames.has(name) && name !== 'constructor' && name !== 'SELECT' && !/Execut(?:or|er)$/.test(name)) commands.add(name);
  }
  const scripts = new Set<string>();
  for (let p = Object.getPrototypeOf(client) as object; p !== base && p !== null; p = Object.getPrototypeOf(p) as object) {
    for (const name of functionNames(p)) if (name !== 'constructor') scripts.add(name);
  }
  return { commands, scripts };
}

/** The arguments and reply transform a v4 command method builds, read through its Multi twin. */
function commandOf(multiProto: Record<string, Fn>, name: string, args: unknown[]): { args: RedisArgs; transformReply: Transform } {
  let out: { args: RedisArgs; transformReply: Transform } | undefined;
  const recorder = {
    addCommand(a: RedisArgs, transformReply: Transform) {
      out = { args: a, transformReply };
      return recorder;
    },
  };
  multiProto[name].apply(recorder, args);
  if (out === undefined) throw new Error(`keywarden guard: node-redis 4 built no command for ${name}`);
  return out;
}

const WATCH_ENDS = new Set(['UNWATCH', 'EXEC', 'DISCARD']);

/** Clients (connections) the application made WATCH through the guard. */
const watching = new WeakSet<object>();

function noteWatch(client: object, name: string): void {
  const upper = name.toUpperCase();
  if (upper === 'WATCH') watching.add(client);
  else if (WATCH_ENDS.has(upper)) watching.delete(client);
}

/** One planned command on a v4 client (one connection). */
function sendOnClient(client: Client4, planner: GuardPlanner, args: RedisArgs, options: CommandOptions | undefined): Promise<unknown> {
  if (options?.isolated) {
    // The whole write runs on the one isolated connection the pool lends.
    return client.executeIsolated((iso) => sendOnClient(iso, planner, args, { ...options, isolated: false }));
  }
  const name = String(args[0]);
  let fix: TtlFix;
  try {
    fix = planner.single(name, args, 1);
  } catch (err) {
    return Promise.reject(err);
  }
  noteWatch(client, name);
  if (fix === undefined) return client.sendCommand(args, options);
  if (typeof fix === 'string') return client.sendCommand(withPx(args, fix), options);
  if (commandInfo(name).blocking) return afterBlocking((a) => client.sendCommand(a), client.sendCommand(args, options), fix);
  return withExpires(client, args, fix, options);
}

function withExpires(client: Client4, args: RedisArgs, expires: Expires, options: CommandOptions | undefined): Promise<unknown> {
  if (watching.has(client)) {
    const reply = client.sendCommand(args, options);
    for (const [key, ttlMs] of expires) client.sendCommand(pexpireArgs(key, ttlMs).args).catch(ignore);
    return reply;
  }
  return sendChained(client, args, expires, options);
}

/** The raw replies of a v4 Multi whose commands carry no transform (errors included, not thrown). */
function rawReplies(run: Promise<unknown[]>): Promise<unknown[]> {
  return run.catch((err: unknown) => {
    const replies = (err as { replies?: unknown[] }).replies;
    if (Array.isArray(replies)) return replies;
    throw err;
  });
}

/** One planned command on a v4 cluster. */
function sendOnCluster(
  cluster: Cluster4,
  planner: GuardPlanner,
  firstKey: Arg | undefined,
  ro: boolean | undefined,
  args: RedisArgs,
  options: CommandOptions | undefined,
): Promise<unknown> {
  const name = String(args[0]);
  let fix: TtlFix;
  try {
    fix = planner.single(name, args, 1);
  } catch (err) {
    return Promise.reject(err);
  }
  if (fix === undefined) return cluster.sendCommand(firstKey, ro, args, options);
  if (typeof fix === 'string') return cluster.sendCommand(firstKey, ro, withPx(args, fix), options);
  const send = (a: RedisArgs, o?: CommandOptions) => cluster.sendCommand(firstKey, false, a, o);
  if (commandInfo(name).blocking) return afterBlocking(send, cluster.sendCommand(firstKey, ro, args, options), fix);
  // All four are routed by the same key, in order, to the same node. A slot that moves between
  // them fails the write with EXECABORT, as the library's own multi() does then.
  return sendChained({ sendCommand: send }, args, fix, options);
}

/** The guarded executor of a v4 client's Multi: `(queue, selectedDB, chainId)`; MULTI when chainId is set. */
function clientExecutor(client: Client4, planner: GuardPlanner): Fn {
  return async (...a: unknown[]) => {
    const [queue, selectedDB, chainId] = a as [QueuedCommand[], number | undefined, symbol | undefined];
    const planned = planQueue(planner, queue);
    if (chainId !== undefined) watching.delete(client);
    const replies = await client.multiExecutor(planned.queue, selectedDB, chainId);
    if (planned.hidden === undefined) return replies;
    if (chainId === undefined) return withoutHidden(replies, planned.hidden);
    const exec = replies[replies.length - 1];
    return exec === null ? replies : [...replies.slice(0, -1), withoutHidden(exec as unknown[], planned.hidden)];
  };
}

/** The guarded executor of a v4 cluster's Multi: `(queue, firstKey, chainId)`, run by a Multi of the real cluster. */
function clusterExecutor(cluster: Cluster4, planner: GuardPlanner): Fn {
  return async (...a: unknown[]) => {
    const [queue, firstKey, chainId] = a as [QueuedCommand[], Arg | undefined, symbol | undefined];
    const planned = planQueue(planner, queue);
    const inner = cluster.MULTI(firstKey);
    for (const cmd of planned.queue) inner.addCommand(firstKey, cmd.args);
    let replies = await rawReplies(chainId === undefined ? inner.execAsPipeline() : inner.exec());
    if (planned.hidden !== undefined) replies = withoutHidden(replies, planned.hidden);
    // The outer Multi reads a MULTI's replies as the last entry of its executor's result.
    return chainId === undefined ? replies : [replies];
  };
}

/** Methods that return a re-configured copy of the client: their result is guarded too. */
const DERIVED = new Set(['duplicate']);

/** Wrap a node-redis 4 client or cluster; the result has the input's type and API. */
export function guardNodeRedis4<T extends object>(client: T, planner: GuardPlanner): T {
  const real = client as unknown as Client4 & Cluster4 & Record<string, unknown>;
  if (real.options?.legacyMode) {
    throw new UsageError(
      'guard: a node-redis 4 client in legacyMode cannot be guarded',
      'guard a client made without legacyMode (its promise API), or upgrade to redis 5 or 6',
    );
  }
  const cluster = isCluster4(client);
  const multiProto = (cluster ? Object.getPrototypeOf(real.MULTI()) : real.Multi.prototype) as Record<string, Fn>;
  const { commands, scripts } = methodsOf(client, multiProto);

  // Cluster command methods call `this.sendCommand(firstKey, …)` and nothing private.
  const clusterStandIn = cluster
    ? Object.create(client, {
        sendCommand: {
          value: (firstKey: Arg | undefined, ro: boolean | undefined, args: RedisArgs, options?: CommandOptions) =>
            sendOnCluster(real, planner, firstKey, ro, args, options),
        },
      })
    : undefined;

  const runCommand = (name: string, method: Fn): Fn => {
    if (clusterStandIn) return (...args) => method.apply(clusterStandIn, args);
    return (...args) => {
      let options: CommandOptions | undefined;
      if (isCommandOptions(args[0])) {
        options = args[0];
        args = args.slice(1);
      }
      let built: ReturnType<typeof commandOf>;
      try {
        built = commandOf(multiProto, name, args);
      } catch (err) {
        return Promise.reject(err);
      }
      const reply = sendOnClient(real, planner, built.args, options);
      const transform = built.transformReply;
      return transform ? reply.then((r) => transform(r, built.args.preserve)) : reply;
    };
  };

  function sendCommand(...a: unknown[]): Promise<unknown> {
    if (cluster)
      return sendOnCluster(real, planner, a[0] as Arg | undefined, a[1] as boolean | undefined, a[2] as RedisArgs, a[3] as CommandOptions | undefined);
    return sendOnClient(real, planner, a[0] as RedisArgs, a[1] as CommandOptions | undefined);
  }

  function multi(...a: unknown[]): unknown {
    if (cluster) {
      const ClusterMulti = multiProto.constructor as unknown as new (executor: Fn, routing: unknown) => object;
      return new ClusterMulti(clusterExecutor(real, planner), a[0]);
    }
    return new real.Multi(clientExecutor(real, planner), false);
  }

  // Called only once `proxy` below exists.
  const toProxy = (value: unknown): unknown => (value === client ? proxy : value);
  const wrapped = new Map<string | symbol, unknown>([
    ['sendCommand', sendCommand],
    ['multi', multi],
    ['MULTI', multi],
  ]);
  if (!cluster) wrapped.set('executeIsolated', (fn: (c: unknown) => Promise<unknown>) => real.executeIsolated((iso) => fn(guardNodeRedis4(iso, planner))));
  else {
    const nodeClient = (real as unknown as { nodeClient(node: unknown): object }).nodeClient.bind(client);
    const nodes = new WeakMap<object, object>();
    wrapped.set('nodeClient', (node: unknown) => {
      const c = nodeClient(node);
      let view = nodes.get(c);
      if (view === undefined) nodes.set(c, (view = guardNodeRedis4(c, planner)));
      return view;
    });
  }
  const proxy: T = new Proxy(client, {
    get(obj, prop) {
      const hit = wrapped.get(prop);
      if (hit !== undefined) return hit;
      // Getters read private fields: they run on the client itself, never on the proxy.
      const value = Reflect.get(obj, prop, obj) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      const method = value as Fn;
      let fn: Fn;
      if (commands.has(prop)) fn = runCommand(prop, method);
      else if (scripts.has(prop)) {
        fn = (...args) => {
          planner.single('evalsha', [], 0);
          return method.apply(obj, args);
        };
      } else if (DERIVED.has(prop)) fn = (...args) => guardNodeRedis4(method.apply(obj, args) as object, planner);
      else {
        fn = (...args) => {
          const result = method.apply(obj, args);
          return result instanceof Promise ? result.then(toProxy) : toProxy(result);
        };
      }
      wrapped.set(prop, fn);
      return fn;
    },
  });
  return proxy;
}
