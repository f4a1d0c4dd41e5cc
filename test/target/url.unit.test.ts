/**
 * Redis URLs split the way redis-cli reads them, and redacted from that split, never by a
 * pattern over text: passwords with '/', '+', '=', ':' or '@' parse and never leak.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { resolveTarget } from '../../src/target/spec.js';
import { parseRedisUrl, redactUrl, redactUrlsInText } from '../../src/target/url.js';

describe('parseRedisUrl', () => {
  const cases: Array<[string, { username?: string; password?: string; host: string; port: string; db: string; tls?: boolean }]> = [
    ['redis://h', { host: 'h', port: '', db: '' }],
    ['h:7000', { host: 'h', port: '7000', db: '' }],
    ['redis://u:p@h:1/2', { username: 'u', password: 'p', host: 'h', port: '1', db: '2' }],
    ['redis://:Ab/c+d=@h', { password: 'Ab/c+d=', host: 'h', port: '', db: '' }],
    ['redis://u:a/b@c:d@h:6380/3', { username: 'u', password: 'a/b@c:d', host: 'h', port: '6380', db: '3' }],
    ['redis://secret@h', { password: 'secret', host: 'h', port: '', db: '' }],
    ['redis://u:p%25q%2F@h', { username: 'u', password: 'p%q/', host: 'h', port: '', db: '' }],
    ['rediss://u:p@[::1]:6390', { username: 'u', password: 'p', host: '::1', port: '6390', db: '', tls: true }],
  ];
  for (const [raw, want] of cases) {
    it(raw, () => {
      const u = parseRedisUrl(raw);
      assert.deepEqual(
        { username: u.username, password: u.password, host: u.host, port: u.port, db: u.db, tls: u.tls || undefined },
        { username: undefined, password: undefined, tls: undefined, ...want },
      );
      if (want.password) assert.ok(!u.redacted.includes(want.password) && u.redacted.includes('<credentials redacted>@'));
    });
  }

  it('refuses malformed escapes, bad hosts and schemes without echoing the secret', () => {
    for (const raw of ['redis://u:%zz-Secret1@h', 'redis://u:Secret1/x@h:notaport', 'http://u:Secret1/x@h', 'redis://%zz:Secret1@h']) {
      assert.throws(
        () => parseRedisUrl(raw),
        (e: unknown) => e instanceof UsageError && !e.message.includes('Secret1') && !e.hint.includes('Secret1'),
        raw,
      );
    }
  });

  it('resolveTarget displays the parsed parts only', () => {
    const t = resolveTarget({ url: 'redis://app:Pa/ss+w0rd=@db.internal:6380/4' }, {});
    assert.deepEqual([t.username, t.password, t.host, t.port, t.db], ['app', 'Pa/ss+w0rd=', 'db.internal', 6380, 4]);
    assert.equal(t.display, 'redis://<credentials redacted>@db.internal:6380/4');
  });
});

describe('redaction', () => {
  it('redactUrl cuts everything before the last @ of the authority', () => {
    assert.equal(redactUrl('redis://u:a/b@c@h:1/0'), 'redis://<credentials redacted>@h:1/0');
    assert.equal(redactUrl('redis://h:1'), 'redis://h:1');
  });
  it('redactUrlsInText redacts every URL in free text', () => {
    const text = "Error: cannot open 'redis://u:Pa/ss@h:1' (via rediss://x:Y/z@k:2)\n    at f (file:///a/b.js:1:2)";
    const out = redactUrlsInText(text);
    assert.ok(!out.includes('Pa/ss') && !out.includes('Y/z'), out);
    assert.match(out, /'redis:\/\/<credentials redacted>@h:1'/);
    assert.match(out, /file:\/\/\/a\/b\.js/);
  });
});
