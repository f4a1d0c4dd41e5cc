/**
 * The audit of one dump: RdbKeys become KeyRecords (TTLs judged at the dump's own time) and
 * go through the same Aggregator as a live scan, giving the same ScanReport with
 * `target.mode: "rdb"`. Keys already expired at that time are counted apart; a hash whose
 * fields all carry a TTL (Redis 7.4 / Valkey 9 field expiry) is given the TTL of its last
 * field, since the key disappears with it.
 */
import { statSync } from 'node:fs';
import { Aggregator, type AggregateOptions, type Aggregation } from '../keyspace/aggregate.js';
import { NO_TTL } from '../keyspace/record.js';
import type { DumpFileInfo, ScanReport } from '../keyspace/report.js';
import { compileGlob } from '../policy/glob.js';
import type { EncodingLimits } from './memory.js';
import type { ByteSource } from './input.js';
import { readRdb, readRdbFile, type RdbKey, type RdbSummary, type ReadRdbOptions } from './reader.js';
import type { RdbValue } from './values.js';

export interface AuditDumpOptions extends Omit<AggregateOptions, 'now'> {
  /** Judge TTLs at this Unix ms instead of the dump's `ctime`. */
  now?: number;
  /** Only keys matching this glob (Redis MATCH syntax). */
  match?: string;
  /** Only keys of this type. */
  type?: string;
  /** The server's small-encoding limits, for the memory model (default: Redis 7's). */
  limits?: EncodingLimits;
  /** Bytes read so far, every few MB. */
  onProgress?(bytesRead: number): void;
}

/** The TTL of a key at `now`: -1 without one; `undefined` when it had already expired. */
export function ttlAt(k: RdbKey, now: number): number | undefined {
  return ttlOf(k.expireAtMs, k, now);
}

function ttlOf(expireAtMs: number, v: RdbValue, now: number): number | undefined {
  let expireAt = expireAtMs;
  if (expireAt < 0 && v.fieldExpiry && v.fieldExpiry.volatile === v.length && v.length > 0) expireAt = v.fieldExpiry.lastExpireAtMs;
  if (expireAt < 0) return NO_TTL;
  const ttl = expireAt - now;
  return ttl > 0 ? ttl : undefined;
}

/**
 * Audit one dump file: the same report as `scanKeyspace` gives for a live keyspace.
 * @throws RdbFormatError (with the byte offset) or RdbVersionError.
 */
export function auditDumpFile(path: string, options: AuditDumpOptions = {}): ScanReport {
  return auditDump(path, statSync(path).mtimeMs, (o) => readRdbFile(path, o), options);
}

/** Audit a dump read from `source` (a snapshot streamed from a server): `name` stands for the file. */
export function auditDumpStream(name: string, source: ByteSource, options: AuditDumpOptions = {}): ScanReport {
  return auditDump(name, Date.now(), (o) => readRdb(source, { ...o, file: name }), options);
}

export type Read = (options: Omit<ReadRdbOptions, 'file'>) => RdbSummary;

/** Where the keys of a dump go: an Aggregator on this thread, or the handoff to another one. */
export type KeySink = Pick<Aggregator, 'addKey'>;

/** What reading a dump gives besides the keys handed to the sink. */
export interface DumpRead {
  summary: RdbSummary;
  file: DumpFileInfo;
  judgedAt: number;
  keysSeen: number;
  expired: { keys: number; bytes: number };
  dbs: number[];
}

function auditDump(path: string, mtime: number, read: Read, options: AuditDumpOptions): ScanReport {
  const started = performance.now();
  let aggregator: Aggregator | undefined;
  const dump = readDump(path, mtime, read, options, (now) => (aggregator = new Aggregator({ ...options, now })));
  aggregator ??= new Aggregator({ ...options, now: dump.judgedAt });
  return dumpReport(path, dump, aggregator.finish(), performance.now() - started, options);
}

/**
 * Read a dump, judging TTLs at its time and filtering by --match and --type, and hand every
 * key kept to the sink made by `sinkAt` (with the time TTLs are judged at) at the first key.
 */
export function readDump(path: string, mtime: number, read: Read, options: AuditDumpOptions, sinkAt: (judgedAt: number) => KeySink): DumpRead {
  let ctime: number | undefined;
  let judgedAt = 0;
  let sink: KeySink | undefined;
  const matches = options.match ? compileGlob(options.match) : undefined;
  const expired = { keys: 0, bytes: 0 };
  const dbs = new Set<number>();
  let lastDb = -1;
  let seen = 0;

  const onEntry = (key: Buffer, start: number, end: number, db: number, expireAtMs: number, value: RdbValue, totalBytes: number) => {
    seen++;
    if (sink === undefined) {
      judgedAt = options.now ?? ctime ?? Math.floor(mtime);
      sink = sinkAt(judgedAt);
    }
    if (matches && !matches(key.subarray(start, end))) return;
    if (options.type && value.type !== options.type) return;
    const ttlMs = ttlOf(expireAtMs, value, judgedAt);
    if (ttlMs === undefined) {
      expired.keys++;
      expired.bytes += totalBytes;
      return;
    }
    if (db !== lastDb) dbs.add((lastDb = db));
    sink.addKey(key, start, end, db, path, value.type, ttlMs, totalBytes, value.length, judgedAt);
  };
  const summary = read({
    onEntry,
    onAux: (name, value) => {
      if (name === 'ctime' && /^\d+$/.test(value)) ctime = Number(value) * 1000;
    },
    onProgress: options.onProgress,
    limits: options.limits,
  });
  judgedAt ||= options.now ?? ctime ?? Math.floor(mtime);
  const file: DumpFileInfo = fileInfo(path, summary, judgedAt, options.now !== undefined ? 'now-flag' : ctime !== undefined ? 'ctime' : 'mtime');
  return { summary, file, judgedAt, keysSeen: seen, expired, dbs: [...dbs].sort((a, b) => a - b) };
}

function fileInfo(path: string, summary: RdbSummary, judgedAt: number, judgedFrom: DumpFileInfo['judgedFrom']): DumpFileInfo {
  return {
    path,
    format: summary.format,
    version: summary.version,
    ...(summary.aux['redis-ver'] || summary.aux['valkey-ver'] ? { writer: summary.aux['valkey-ver'] ?? summary.aux['redis-ver'] } : {}),
    bytes: summary.fileBytes,
    keys: summary.keys,
    judgedAt,
    judgedFrom,
    checksum: summary.checksum,
    ...(summary.aofTailBytes ? { aofTailBytes: summary.aofTailBytes } : {}),
  };
}

/** The report of one dump from what reading it gave and the aggregation of its keys. */
export function dumpReport(path: string, dump: DumpRead, agg: Aggregation, durationMs: number, options: AuditDumpOptions): ScanReport {
  const { summary, file, keysSeen, expired, dbs } = dump;
  const report: ScanReport = {
    kind: 'keywarden.scan',
    schemaVersion: 1,
    takenAt: new Date(file.judgedAt).toISOString(),
    target: {
      url: path,
      mode: 'rdb',
      redisVersion: file.writer ?? `RDB ${summary.version}`,
      nodes: [{ address: path, role: 'master', dbs, keysSeen, dbsize: summary.keys, complete: true }],
      files: [file],
    },
    coverage: {
      complete: true,
      sampled: false,
      keysSeen,
      dbsize: summary.keys,
      vanished: 0,
      unmeasured: [],
      method: 'rdb',
      expired,
      durationMs: Math.round(durationMs),
      keysPerSecond: Math.round(keysSeen / Math.max(durationMs / 1000, 1e-3)),
    },
    totals: agg.totals,
    patterns: agg.patterns,
    bigKeys: agg.bigKeys,
    expiryClusters: agg.expiryClusters,
  };
  if (options.policy) report.policy = { file: options.policy.file, violations: agg.violations };
  return report;
}
