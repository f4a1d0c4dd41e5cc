/**
 * `keywarden demo`: the quickstart. Starts a throwaway redis-server on a free port, loads a
 * reproduction of the missing-TTL incident, runs the audit on it and stops the server
 * (`--keep` leaves it running so doctor and fix can be tried on it next).
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { loadIncidentDataset } from '../../demo/dataset.js';
import { UsageError } from '../../errors.js';
import { startThrowawayRedis } from '../../demo/server.js';
import { scanKeyspace } from '../../keyspace/scan.js';
import { connectTarget } from '../../target/connect.js';
import { resolveTarget } from '../../target/spec.js';
import { intFlag } from '../flags.js';
import type { CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';
import { renderScanTable } from '../render/scan-table.js';
import { runnableFix } from '../../doctor/commands.js';
import { cliInvocation, shellArg } from '../invocation.js';
import { formatCount } from '../../units.js';

interface DemoFlags {
  keys: string;
  keep?: boolean;
  json?: boolean;
  saveRdb?: string;
}

/** Register `keywarden demo`. */
export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .summary('reproduce a missing-TTL incident on a throwaway redis-server and audit it')
    .option('--keys <n>', 'keys to load', '60000')
    .option('--keep', 'leave the server running and print its URL (to try doctor and fix on it)')
    .option('--json', 'print the scan report as JSON')
    .option('--save-rdb <file>', 'also save the incident as a dump file, to try keywarden rdb on it')
    .action(async (flags: DemoFlags, command: Command) => {
      finishWith(command, await runCommand(io, flags.json === true, () => runDemo(flags, io)));
    });
}

/** SAVE on the throwaway server and copy its dump to `to`. */
async function saveDump(client: Redis, to: string, io: CliIo): Promise<void> {
  await client.save();
  const [, dir] = (await client.config('GET', 'dir')) as [string, string];
  const [, name] = (await client.config('GET', 'dbfilename')) as [string, string];
  try {
    copyFileSync(join(dir, name), to);
  } catch (err) {
    throw new UsageError(`cannot write ${to} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'give --save-rdb a path in a writable directory', {
      cause: err,
    });
  }
  io.stderr(`keywarden demo: the incident's dump written to ${to} (try: ${cliInvocation(io.env)} rdb ${shellArg(to)})\n`);
}

async function runDemo(flags: DemoFlags, io: CliIo): Promise<number> {
  const keys = intFlag(flags.keys, '--keys') ?? 60_000;
  // The incident's configuration: a memory limit and the default noeviction policy.
  const server = await startThrowawayRedis({ maxmemory: '256mb', 'maxmemory-policy': 'noeviction' });
  try {
    io.stderr(`keywarden demo: redis-server on ${server.url}; loading ${formatCount(keys)} keys (sessions written without a TTL, caches, tokens, profiles)…\n`);
    const loader = new Redis(server.port, '127.0.0.1');
    await loadIncidentDataset(loader, { keys });
    if (flags.saveRdb) await saveDump(loader, flags.saveRdb, io);
    loader.disconnect();
    const target = await connectTarget(resolveTarget({ url: server.url }, {}));
    const report = await scanKeyspace(target, {}).finally(() => target.close());
    io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderScanTable(report, { color: io.isTTY && !io.env.NO_COLOR }));
    if (flags.keep) {
      // The same rewriting as doctor's suggestions: each command names the demo server.
      const hints = runnableFix(['keywarden doctor', "keywarden fix --match 'session:*' --ttl 24h"], {
        target: server.url,
        hasPolicy: false,
        policyFile: 'keywarden.yml',
        cli: cliInvocation(io.env),
      });
      io.stderr(`\nThe server keeps running at ${server.url} (Ctrl-C to stop it). Try:\n${hints.map((h) => `  ${h}\n`).join('')}`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    } else if (!flags.json) {
      io.stderr(`\nNext: run the same audit on your server: ${cliInvocation(io.env)} scan redis://host:6379 (or set REDIS_URL). The demo server is stopped.\n`);
    }
    return 0;
  } finally {
    await server.stop();
  }
}
