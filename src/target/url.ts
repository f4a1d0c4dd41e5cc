/**
 * Splitting a Redis URL into its parts, the way redis-cli reads one, and the only way a URL
 * given by the user is ever echoed back: rebuilt from its parsed parts, without the userinfo.
 *
 * The userinfo is cut off by hand before the WHATWG parser sees the URL, because passwords
 * are often base64 (`openssl rand -base64 32`, which doctor itself suggests), and base64
 * contains '/': `redis://app:ab/cd@host` is not a valid URL to `new URL()` (it reads host
 * 'app', port 'ab'), while redis-cli accepts it. Everything up to the last '@' is userinfo.
 * Redaction works on the same split, never by a pattern over text, so a password holding
 * '/', ':' or '@' cannot leak around it.
 */
import { UsageError } from '../errors.js';

export interface RedisUrl {
  tls: boolean;
  username?: string;
  password?: string;
  /** Host without brackets ('' when the URL names none). */
  host: string;
  /** Port as written ('' when none). */
  port: string;
  /** The path after '/', where redis:// URLs put the database number ('' when none). */
  db: string;
  /** The URL with any userinfo replaced: safe to print. */
  redacted: string;
}

const REDACTED = '<credentials redacted>';

interface Split {
  scheme: string;
  userinfo?: string;
  rest: string;
}

function split(raw: string): Split {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw);
  const scheme = m ? m[1].toLowerCase() : 'redis';
  const afterScheme = m ? raw.slice(m[0].length) : raw;
  const at = afterScheme.lastIndexOf('@');
  if (at < 0) return { scheme, rest: afterScheme };
  return { scheme, userinfo: afterScheme.slice(0, at), rest: afterScheme.slice(at + 1) };
}

/** `raw` with its userinfo (user name and password) replaced: the form to print. */
export function redactUrl(raw: string): string {
  const s = split(raw);
  return `${s.scheme}://${s.userinfo !== undefined ? `${REDACTED}@` : ''}${s.rest}`;
}

function decodePart(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // The text itself is never shown: it is (part of) a credential.
    throw new UsageError(
      `the ${what} in the URL has a malformed percent escape`,
      `write a literal % as %25 in the URL, or give the ${what === 'password' ? 'password with -a or REDISCLI_AUTH' : 'user name with --user'}`,
    );
  }
}

/** Parse `redis://[user[:password]@]host[:port][/db]` (or rediss://); a bare `host:port` is redis://. */
export function parseRedisUrl(raw: string): RedisUrl {
  const s = split(raw);
  const redacted = redactUrl(raw);
  if (s.scheme !== 'redis' && s.scheme !== 'rediss') {
    throw new UsageError(`unsupported URL scheme '${s.scheme}:' in ${redacted}`, 'use redis:// or rediss:// (TLS)');
  }
  let url: URL;
  try {
    url = new URL(`${s.scheme}://${s.rest}`);
  } catch (cause) {
    throw new UsageError(`'${redacted}' is not a valid Redis URL`, 'use redis://[user:password@]host:port[/db] or rediss:// for TLS', { cause });
  }
  let username: string | undefined;
  let password: string | undefined;
  if (s.userinfo !== undefined) {
    // As redis-cli: `user:password@`, or `password@` alone (without a ':' it is the password).
    const colon = s.userinfo.indexOf(':');
    username = colon < 0 ? undefined : decodePart(s.userinfo.slice(0, colon), 'user name');
    password = decodePart(colon < 0 ? s.userinfo : s.userinfo.slice(colon + 1), 'password');
  }
  return {
    tls: s.scheme === 'rediss',
    username: username || undefined,
    password: password || undefined,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port,
    db: url.pathname.length > 1 ? url.pathname.slice(1) : '',
    redacted,
  };
}

/**
 * Free text (a bug's stack trace) with the userinfo of every URL in it removed, each
 * whitespace-separated word holding '://' being split as a URL is above.
 */
export function redactUrlsInText(text: string): string {
  return text
    .split(/(\s+)/)
    .map((word) => {
      const sep = word.indexOf('://');
      if (sep < 0 || !word.includes('@', sep)) return word;
      let start = sep;
      while (start > 0 && /[a-z0-9+.-]/i.test(word[start - 1])) start--;
      return word.slice(0, start) + redactUrl(word.slice(start));
    })
    .join('');
}
