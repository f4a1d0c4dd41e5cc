/**
 * `keywarden rdb FILE…`: the scan report from dump files, with zero load on the server that
 * wrote them. Several files (one per cluster master) are read in parallel threads and
 * reported as one keyspace. TTLs are judged at the dump's own time (ctime) unless --now.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { limitsFromConfig, type EncodingLimits } from '../../rdb/memory.js';
import { auditDumpStream } from '../../rdb/audit.js';
import { fetchSnapshot } from '../../rdb/fetch.js';
import { auditDumps } from '../../rdb/parallel.js';
import { resolveTarget } from '../../target/spec.js';
import { intFlag } from '../flags.js';
import type { CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';
import { progressBar } from '../progress.js';
import { formatCount } from '../../units.js';
import { checkScanOutput, emitScanReport, redisTypeFlag, type ScanFormat } from '../render/scan-output.js';

interface RdbFlags {
  match?: string;
  type?: string;
  top: string;
  maxPatterns?: string;
  policy?: string;
  now?: string;
  redisConf?: string;
  fetch?: string;
  save?: string;
  json?: boolean;
  format: ScanFormat;
  out?: string;
  progress: boolean;
}

/** Register `keywarden rdb`. */
export function registerRdb(program: Command, io: CliIo): void {
  program
    .command('rdb')
    .summary('the scan report from RDB dump files: zero load on the server')
    .description(
      'Read RDB dumps (Redis 2.x to 8.x, Valkey) and report, as `scan` does, per key pattern: keys, bytes as MEMORY USAGE would count ' +
        'them, keys and bytes without TTL, types and TTL spread; the biggest keys; keys expiring in the same second. TTLs are judged at ' +
        "the dump's own time; keys already expired then are counted apart. Several files are read in parallel as one keyspace.",
    )
    .argument('[files...]', 'dump files (dump.rdb, one per cluster master, or an AOF with an RDB preamble)')
    .option('--fetch <url>', 'stream a fresh snapshot from this server (a replica) over the replication protocol instead of reading files')
    .option('--save <file>', 'with --fetch: also write the snapshot to this file')
    .option('--match <glob>', 'only keys matching this glob (Redis MATCH syntax)')
    .option('--type <type>', 'only keys of this type (string, list, set, zset, hash, stream)')
    .option('--top <n>', 'biggest keys to list', '10')
    .option('--max-patterns <n>', 'patterns to report before folding the rest into (other)', '200')
    .option('--policy <file>', 'keywarden.yml: rule globs win over inference; exit 1 when keys break their rule')
    .option('--now <time>', "judge TTLs at this time instead of the dump's (ISO 8601, Unix seconds, or 'now')")
    .option('--redis-conf <file>', "the server's redis.conf: its *-max-listpack-* limits decide the encodings bytes are counted for")
    .option('--json', 'print the report as one JSON document on stdout')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'markdown', 'html']).default('table'))
    .option('--out <file>', 'write the report to this file (required for --format html)')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .action(async (files: string[], flags: RdbFlags, command: Command) => {
      finishWith(command, await runCommand(io, flags.json === true || flags.format === 'json', () => runRdb(files, flags, io)));
    });
}

/** `--now`: an ISO date, Unix seconds or ms, or 'now'. */
export function nowFlag(text: string): number {
  const t = text.trim();
  if (t === 'now') return Date.now();
  if (/^\d+$/.test(t)) return t.length > 11 ? Number(t) : Number(t) * 1000;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new UsageError(`--now '${text}' is not a time`, "write an ISO time (2026-01-31T12:00:00Z), Unix seconds, or 'now'");
  return ms;
}

/** The encoding limits set in a redis.conf (`name value` lines; the rest keep Redis' defaults). */
function limitsFromConfFile(path: string): EncodingLimits {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'give the path of the redis.conf the server runs with', {
      cause: err,
    });
  }
  const entries = text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((words): words is [string, string] => words.length >= 2 && !words[0].startsWith('#'))
    .map(([name, value]) => [name, value] as [string, string]);
  return limitsFromConfig(entries);
}

async function runRdb(files: string[], flags: RdbFlags, io: CliIo): Promise<number> {
  const format: ScanFormat = flags.json ? 'json' : flags.format;
  checkScanOutput(format, flags.out);
  if (flags.fetch !== undefined && files.length > 0) throw new UsageError('give dump files or --fetch, not both', 'drop the files, or drop --fetch');
  if (flags.fetch === undefined && files.length === 0)
    throw new UsageError('no dump file given', 'keywarden rdb dump.rdb, or keywarden rdb --fetch redis://replica:6379');
  if (flags.save !== undefined && flags.fetch === undefined)
    throw new UsageError('--save goes with --fetch', 'add --fetch redis://replica:6379, or drop --save');
  for (const f of files) {
    if (!existsSync(f) || !statSync(f).isFile())
      throw new UsageError(`no dump file at ${f}`, 'give the path of a dump.rdb (CONFIG GET dir and dbfilename on the server say where it is)');
  }
  // Loaded only with --policy: the policy loader brings zod (~15 ms of start-up) with it.
  const policy = flags.policy ? await (await import('../../policy/load.js')).loadPolicy(flags.policy) : undefined;
  const progress =
    flags.progress && io.isTTY
      ? progressBar('reading [{bar}] {percentage}% | {done} of {total} MB | ETA {eta_formatted}', (p: { ratio: number; done: number; total: number }) => ({
          done: formatCount(p.done / 1e6),
          total: formatCount(p.total / 1e6),
        }))
      : undefined;
  const options = {
    match: flags.match,
    type: redisTypeFlag(flags.type),
    top: intFlag(flags.top, '--top'),
    maxPatterns: intFlag(flags.maxPatterns, '--max-patterns'),
    policy,
    now: flags.now === undefined ? undefined : nowFlag(flags.now),
    limits: flags.redisConf ? limitsFromConfFile(flags.redisConf) : undefined,
  };
  if (flags.fetch !== undefined) {
    const spec = resolveTarget({ url: flags.fetch }, io.env);
    io.stderr(`keywarden: fetching a snapshot from ${spec.display} (as a replica would, without the replication stream)\n`);
    const snapshot = fetchSnapshot(spec, { save: flags.save });
    let fetched;
    try {
      fetched = auditDumpStream(spec.display, snapshot.source, options);
    } finally {
      await snapshot.close();
    }
    if (flags.save) io.stderr(`keywarden: snapshot saved to ${flags.save}\n`);
    emitScanReport(io, fetched, format, flags.out);
    return fetched.policy && fetched.policy.violations > 0 ? 1 : 0;
  }
  let report;
  try {
    report = await auditDumps(files, {
      ...options,
      onProgress: progress ? (done, total) => progress.update({ ratio: total > 0 ? done / total : 1, done, total }) : undefined,
    });
  } finally {
    progress?.stop();
  }
  emitScanReport(io, report, format, flags.out);
  return report.policy && report.policy.violations > 0 ? 1 : 0;
}
