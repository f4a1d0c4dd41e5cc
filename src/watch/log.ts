/**
 * The daemon's structured log, on stderr: one line per event, either `time level msg k=v`
 * for people or one JSON object per line (`--log-format json`) for log shippers. Messages
 * and fields never carry a credential: targets are always the redacted display URL.
 */
import { displayPattern } from '../display.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface WatchLogger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger writing lines through `write` (stderr in the CLI). */
export function createLogger(write: (line: string) => void, format: 'text' | 'json' = 'text', level: LogLevel = 'info'): WatchLogger {
  const emit =
    (lvl: LogLevel) =>
    (msg: string, fields: LogFields = {}) => {
      if (RANK[lvl] < RANK[level]) return;
      const time = new Date().toISOString();
      const defined = Object.entries(fields).filter(([, v]) => v !== undefined);
      if (format === 'json') {
        write(`${JSON.stringify({ time, level: lvl, msg, ...Object.fromEntries(defined) })}\n`);
        return;
      }
      // Fields may quote the server or a key: escaped, so a log line stays one line of plain text.
      const extra = defined
        .map(([k, v]) => `${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(displayPattern(v)) : displayPattern(String(v))}`)
        .join(' ');
      write(`${time} ${lvl.padEnd(5)} ${displayPattern(msg)}${extra ? ` ${extra}` : ''}\n`);
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** A logger that drops everything (library default). */
export const silentLogger: WatchLogger = { debug() {}, info() {}, warn() {}, error() {} };
