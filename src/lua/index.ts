/**
 * Lua scripts live as .lua files beside this module (each with a header naming KEYS, ARGV
 * and what it returns). They run by EVALSHA, falling back to EVAL once when the server
 * does not have them cached (restart, SCRIPT FLUSH, another node of a cluster).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

export interface LuaScript {
  name: string;
  source: string;
  sha: string;
}

const cache = new Map<string, LuaScript>();

/** Load `src/lua/<name>.lua` (or `dist/lua/<name>.lua` when compiled). */
export function luaScript(name: string): LuaScript {
  let script = cache.get(name);
  if (!script) {
    const source = readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8');
    script = { name, source, sha: createHash('sha1').update(source).digest('hex') };
    cache.set(name, script);
  }
  return script;
}

/** Run a script with no KEYS and Buffer replies; EVALSHA first, EVAL on NOSCRIPT. */
export async function runScript(client: Redis, script: LuaScript, args: Array<string | Buffer>): Promise<unknown> {
  try {
    return await client.callBuffer('EVALSHA', script.sha, 0, ...args);
  } catch (err) {
    if (!/NOSCRIPT/.test((err as Error).message)) throw err;
    return client.callBuffer('EVAL', script.source, 0, ...args);
  }
}
