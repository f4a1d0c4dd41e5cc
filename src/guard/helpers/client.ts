/**
 * The narrow client contract the helpers are written against, with one adapter per library.
 * Helpers send raw commands (string replies), one-slot MULTIs and Lua scripts; a guarded
 * client works as well as a raw one, since every helper write already carries its TTL.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { isIoredis } from '../adapters/ioredis.js';
import { isNodeRedis } from '../adapters/node-redis.js';

export interface HelperClient {
  /** One command; `key` routes it on a cluster. */
  command(key: string, args: string[]): Promise<unknown>;
  /** MULTI … EXEC (all keys in `key`'s slot); rejects with the first failed command's error. */
  transaction(key: string, commands: string[][]): Promise<unknown[]>;
  /** Run a Lua script by SHA, loading it on NOSCRIPT. */
  script(script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
}

export interface LuaScript {
  name: string;
  source: string;
  sha: string;
}

/** Load `src/lua/<name>.lua` (next to the compiled code in `dist/lua`). */
export function luaScript(name: string): LuaScript {
  const source = readFileSync(new URL(`../../lua/${name}.lua`, import.meta.url), 'utf8');
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

const isNoScript = (err: unknown): boolean => err instanceof Error && err.message.startsWith('NOSCRIPT');

function firstError(replies: unknown[]): unknown[] {
  const failed = replies.find((r) => r instanceof Error);
  if (failed) throw failed;
  return replies;
}

interface IoredisHelperTarget {
  call(...args: string[]): Promise<unknown>;
  multi(commands: unknown[][]): { exec(): Promise<Array<[Error | null, unknown]> | null> };
}

function ioredisHelper(client: IoredisHelperTarget): HelperClient {
  return {
    command: (_key, args) => client.call(...args),
    async transaction(_key, commands) {
      const results = await client.multi(commands.map((c) => ['call', ...c])).exec();
      if (!results) throw new Error('transaction aborted');
      return firstError(results.map(([err, value]) => err ?? value));
    },
    async script(script, keys, args) {
      const tail = [String(keys.length), ...keys, ...args];
      try {
        return await client.call('EVALSHA', script.sha, ...tail);
      } catch (err) {
        if (!isNoScript(err)) throw err;
        return client.call('EVAL', script.source, ...tail);
      }
    },
  };
}

interface NodeMulti {
  addCommand(...args: unknown[]): NodeMulti;
  exec(): Promise<unknown[]>;
}
interface NodeHelperTarget {
  sendCommand(...args: unknown[]): Promise<unknown>;
  multi(): NodeMulti;
  getSlotMaster?: unknown;
}

function nodeRedisHelper(client: NodeHelperTarget): HelperClient {
  const cluster = typeof client.getSlotMaster === 'function';
  const send = (key: string, args: string[]) => (cluster ? client.sendCommand(key, false, args) : client.sendCommand(args));
  return {
    command: send,
    async transaction(key, commands) {
      const multi = client.multi();
      for (const c of commands) {
        if (cluster) multi.addCommand(key, false, c);
        else multi.addCommand(c);
      }
      try {
        return firstError(await multi.exec());
      } catch (err) {
        // node-redis reports command errors inside a MULTI as a MultiErrorReply holding all replies.
        const replies = (err as { replies?: unknown[] }).replies;
        if (replies) firstError(replies);
        throw err;
      }
    },
    async script(script, keys, args) {
      const tail = [String(keys.length), ...keys, ...args];
      try {
        return await send(keys[0], ['EVALSHA', script.sha, ...tail]);
      } catch (err) {
        if (!isNoScript(err)) throw err;
        return send(keys[0], ['EVAL', script.source, ...tail]);
      }
    },
  };
}

/**
 * The helper contract for an ioredis (`Redis`, `Cluster`) or node-redis v5 client, guarded or not.
 * @throws UsageError for anything else.
 */
export function helperClient(client: object): HelperClient {
  if (isIoredis(client)) return ioredisHelper(client as unknown as IoredisHelperTarget);
  if (isNodeRedis(client)) return nodeRedisHelper(client as unknown as NodeHelperTarget);
  throw new UsageError(
    'keywarden helpers: the client is neither an ioredis Redis/Cluster nor a node-redis v5 client/cluster',
    'pass the object returned by new Redis(), new Cluster(), createClient() or createCluster() (or guard() of one)',
  );
}
