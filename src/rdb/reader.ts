/**
 * The streaming RDB reader: header, opcodes, then one `RdbKey` per key, handed to `onKey`
 * as soon as its value has been walked (or, on the audit path, `onEntry` with the key's
 * bytes in place in the read buffer and no object per key). Reads RDB versions 1 to 12 (Redis 2.0 to 8.x) and
 * Valkey's VALKEY080; verifies the CRC64 trailer; reads the RDB preamble of an AOF and
 * reports the size of the AOF tail it does not replay.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { RdbCorruption, RdbFormatError, RdbVersionError } from './errors.js';
import { ByteInput, fileSource, type ByteSource } from './input.js';
import { DEFAULT_LIMITS, keyBytes, type EncodingLimits } from './memory.js';
import { RdbStrings } from './strings.js';
import { readerFor, skipModuleData, type RdbValue, type ValueContext } from './values.js';

export interface RdbKey extends RdbValue {
  key: Buffer;
  db: number;
  /** Absolute expiry in Unix ms; -1 when the key has none. */
  expireAtMs: number;
  /** LRU idle seconds or LFU counter when the dump carries them. */
  idleSeconds?: number;
  lfu?: number;
  /** Key + value bytes as `MEMORY USAGE key SAMPLES 0` reports them (see memory.ts). */
  totalBytes: number;
}

export interface RdbSummary {
  file: string;
  format: 'redis' | 'valkey';
  /** RDB version (Valkey's VALKEY080 is 80). */
  version: number;
  /** Auxiliary fields: redis-ver, ctime, used-mem, repl-id… */
  aux: Record<string, string>;
  keys: number;
  bytes: number;
  functions: number;
  moduleAux: number;
  checksum: 'verified' | 'disabled' | 'absent';
  /** Bytes read, the whole input. */
  fileBytes: number;
  /** Bytes of AOF commands after an RDB preamble (not replayed). */
  aofTailBytes?: number;
}

export interface ReadRdbOptions {
  /** Name used in error messages. */
  file: string;
  /** Called per key (one of `onKey` and `onEntry` is given). */
  onKey?(key: RdbKey): void;
  /**
   * The audit path, instead of `onKey`: the key as key[start, end), in place in the reader's
   * buffer (valid only during the call: copy what is kept), and its value, with no key
   * Buffer, string nor RdbKey object per key.
   */
  onEntry?(key: Buffer, start: number, end: number, db: number, expireAtMs: number, value: RdbValue, totalBytes: number): void;
  /** The server's small-encoding limits, for the memory model (default: Redis 7's). */
  limits?: EncodingLimits;
  /** Return the content of every value (tests, conformance); never on the audit path. */
  keep?: boolean;
  /** Called per auxiliary field (they all come before the first key). */
  onAux?(name: string, value: string): void;
  /** Called every few MB with the bytes read so far. */
  onProgress?(bytesRead: number): void;
}

const OP = {
  SLOT_INFO: 0xf4,
  FUNCTION2: 0xf5,
  FUNCTION_PRE_GA: 0xf6,
  MODULE_AUX: 0xf7,
  IDLE: 0xf8,
  FREQ: 0xf9,
  AUX: 0xfa,
  RESIZEDB: 0xfb,
  EXPIRETIME_MS: 0xfc,
  EXPIRETIME: 0xfd,
  SELECTDB: 0xfe,
  EOF: 0xff,
} as const;

const PROGRESS_EVERY = 4 << 20;
const COLLECTIONS = new Set(['list', 'set', 'zset', 'hash']);

function parseHeader(header: Buffer, file: string): { format: 'redis' | 'valkey'; version: number } {
  const text = header.toString('latin1');
  const redis = /^REDIS(\d{4})$/.exec(text);
  if (redis) {
    const version = Number(redis[1]);
    if (version >= 1 && version <= 12) return { format: 'redis', version };
  }
  const valkey = /^VALKEY(\d{3})$/.exec(text);
  if (valkey && Number(valkey[1]) === 80) return { format: 'valkey', version: 80 };
  if (text.startsWith('*')) throw new RdbVersionError(file, 'an AOF without an RDB preamble (only AOFs written with aof-use-rdb-preamble yes hold a dump)');
  const shown = /^[\x20-\x7e]*$/.test(text) ? text : `0x${header.toString('hex')}`;
  throw new RdbVersionError(file, shown.length > 0 ? shown : '(empty file)');
}

/**
 * Read a dump from `source`, calling `onKey` per key. Throws RdbFormatError (with the byte
 * offset) for a truncated or corrupt file and RdbVersionError for a format it does not know.
 */
export function readRdb(source: ByteSource, options: ReadRdbOptions): RdbSummary {
  const input = new ByteInput(source);
  try {
    return readAll(input, options);
  } catch (err) {
    if (err instanceof RdbCorruption) throw new RdbFormatError(options.file, err.offset, err.message);
    if (err instanceof RangeError) throw new RdbFormatError(options.file, input.offset, err.message);
    throw err;
  }
}

function readAll(input: ByteInput, options: ReadRdbOptions): RdbSummary {
  const header = input.atEnd() ? Buffer.alloc(0) : input.view(9);
  const { format, version } = parseHeader(Buffer.from(header), options.file);
  const s = new RdbStrings(input);
  const ctx: ValueContext = { s, input, keep: options.keep === true, valkey: format === 'valkey', limits: options.limits ?? DEFAULT_LIMITS };
  const summary: RdbSummary = { file: options.file, format, version, aux: {}, keys: 0, bytes: 0, functions: 0, moduleAux: 0, checksum: 'absent', fileBytes: 0 };
  let db = 0;
  let expireAtMs = -1;
  let idle: number | undefined;
  let lfu: number | undefined;
  let nextProgress = PROGRESS_EVERY;
  const { onEntry, onProgress } = options;
  for (;;) {
    const at = input.offset;
    const op = input.u8();
    switch (op) {
      case OP.EOF:
        finish(input, summary, version);
        summary.fileBytes = input.offset;
        return summary;
      case OP.SELECTDB:
        db = s.length();
        continue;
      case OP.EXPIRETIME:
        expireAtMs = input.u32le() * 1000;
        continue;
      case OP.EXPIRETIME_MS:
        expireAtMs = input.i64le();
        continue;
      case OP.RESIZEDB:
        s.length();
        s.length();
        continue;
      case OP.AUX: {
        const name = s.string().toString('latin1');
        const value = s.string().toString('latin1');
        summary.aux[name] = value;
        options.onAux?.(name, value);
        continue;
      }
      case OP.IDLE:
        idle = s.length();
        continue;
      case OP.FREQ:
        lfu = input.u8();
        continue;
      case OP.MODULE_AUX:
        s.lengthBig();
        s.length();
        s.length();
        skipModuleData(ctx);
        summary.moduleAux++;
        continue;
      case OP.FUNCTION_PRE_GA:
        input.fail('functions in the pre-release format of Redis 7.0 RCs are not supported', at);
        break;
      case OP.FUNCTION2:
        s.skip();
        summary.functions++;
        continue;
      case OP.SLOT_INFO:
        s.length();
        s.length();
        s.length();
        continue;
    }
    const read = readerFor(op, ctx.valkey);
    if (!read) input.fail(`unknown value type or opcode ${op}`, at);
    if (onEntry) {
      s.key();
      const value = read(ctx);
      if (value.length === 0 && COLLECTIONS.has(value.type)) input.fail(`empty ${value.type} value for a key (Redis never writes one)`, at);
      const total = Math.round(value.bytes + keyBytes(input.pinEnd - input.pinStart));
      onEntry(input.pinned, input.pinStart, input.pinEnd, db, expireAtMs, value, total);
      input.unpin();
      summary.keys++;
      summary.bytes += total;
      expireAtMs = -1;
      idle = lfu = undefined;
      if (onProgress && input.bytesRead >= nextProgress) {
        onProgress(input.bytesRead);
        nextProgress = input.bytesRead + PROGRESS_EVERY;
      }
      continue;
    }
    const key = s.string();
    const value = read(ctx);
    // Redis never writes an empty collection: one here is corruption (valkey's corrupt_empty_keys.rdb).
    if (value.length === 0 && COLLECTIONS.has(value.type)) input.fail(`empty ${value.type} value for a key (Redis never writes one)`, at);
    const total = Math.round(value.bytes + keyBytes(key.length));
    // One fixed shape (no spread): the readers' objects differ, and a megamorphic spread cost more than the parse.
    options.onKey?.({
      key,
      db,
      type: value.type,
      encoding: value.encoding,
      length: value.length,
      bytes: value.bytes,
      totalBytes: total,
      expireAtMs,
      idleSeconds: idle,
      lfu,
      fieldExpiry: value.fieldExpiry,
      content: value.content,
    });
    summary.keys++;
    summary.bytes += total;
    expireAtMs = -1;
    idle = lfu = undefined;
    if (onProgress && input.bytesRead >= nextProgress) {
      onProgress(input.bytesRead);
      nextProgress = input.bytesRead + PROGRESS_EVERY;
    }
  }
}

/** After the EOF opcode: the checksum (RDB 5+), then an AOF tail or nothing. */
function finish(input: ByteInput, summary: RdbSummary, version: number): void {
  if (version >= 5) {
    const at = input.offset;
    const zero = input.checksumMatches();
    if (!zero) input.fail('CRC64 checksum mismatch', at);
    summary.checksum = input.crc.hi === 0 && input.crc.lo === 0 ? 'disabled' : 'verified';
  }
  const tail = input.drain();
  if (tail > 0) summary.aofTailBytes = tail;
}

/** Read a dump file from disk (see `readRdb`); the file name is what errors show. */
export function readRdbFile(path: string, options: Omit<ReadRdbOptions, 'file'> & { file?: string }): RdbSummary {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new UsageError(`cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the dump file path', { cause: err });
  }
  try {
    return readRdb(fileSource(fd, fstatSync(fd).size), { ...options, file: options.file ?? path });
  } finally {
    closeSync(fd);
  }
}
