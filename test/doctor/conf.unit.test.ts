import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confFacts, diagnose, parseConf, parseMemory, readConf, splitArgs } from '../../src/doctor/index.js';
import { dangerousAllowedByRules } from '../../src/doctor/acl.js';

test('splitArgs reads quoting like sdssplitargs', () => {
  const table: Array<[string, string[] | undefined]> = [
    ['maxmemory 2gb', ['maxmemory', '2gb']],
    ['save ""', ['save', '']],
    ['requirepass "p@ss word"', ['requirepass', 'p@ss word']],
    ["requirepass 'it\\'s'", ['requirepass', "it's"]],
    ['rename-command "FLUSHALL" ""', ['rename-command', 'FLUSHALL', '']],
    ['x "a\\x41\\n"', ['x', 'aA\n']],
    ['  bind   127.0.0.1   ::1  ', ['bind', '127.0.0.1', '::1']],
    ['requirepass "unterminated', undefined],
    ['requirepass "a"b', undefined],
  ];
  for (const [line, expected] of table) assert.deepEqual(splitArgs(line), expected, line);
});

test('parseMemory follows Redis units (k = 1000, kb = 1024)', () => {
  const table: Array<[string, number | undefined]> = [
    ['0', 0],
    ['100', 100],
    ['1k', 1000],
    ['1kb', 1024],
    ['1K', 1000],
    ['2gb', 2 * 1024 ** 3],
    ['2GB', 2 * 1024 ** 3],
    ['100mb', 100 * 1024 ** 2],
    ['1m', 1e6],
    ['1g', 1e9],
    ['1.5gb', 1.5 * 1024 ** 3],
    ['lots', undefined],
    ['1tb', undefined],
  ];
  for (const [text, expected] of table) assert.equal(parseMemory(text), expected, text);
});

test('parseConf: includes, last directive wins, duplicates, save adds up, rename-command, units', () => {
  const files: Record<string, string> = {
    '/etc/redis/extra.conf': 'maxmemory 1gb\nmaxmemory-policy allkeys-lru\n',
    '/etc/redis/conf.d/a.conf': 'timeout 30\n',
  };
  const text = [
    '# comment',
    'maxmemory 100mb',
    'include extra.conf',
    'MaxMemory-Policy volatile-lru',
    'save 900 1',
    'save 300 10',
    'rename-command FLUSHALL ""',
    'rename-command CONFIG "cfg-9f"',
    'include /etc/redis/missing.conf',
    'requirepass "top secret"',
  ].join('\n');
  const conf = parseConf(text, '/etc/redis/redis.conf', (p) => {
    if (!(p in files)) throw new Error('ENOENT');
    return files[p];
  });
  assert.equal(conf.config.maxmemory, String(1024 ** 3));
  assert.equal(conf.config['maxmemory-policy'], 'volatile-lru');
  assert.equal(conf.config.save, '900 1 300 10');
  assert.deepEqual(conf.renamed, { FLUSHALL: '', CONFIG: 'cfg-9f' });
  assert.deepEqual(
    conf.duplicates.map((d) => [d.name, d.at]),
    [
      ['maxmemory', ['/etc/redis/redis.conf:2', '/etc/redis/extra.conf:1']],
      ['maxmemory-policy', ['/etc/redis/extra.conf:2', '/etc/redis/redis.conf:4']],
    ],
  );
  assert.deepEqual(conf.problems, [{ at: '/etc/redis/redis.conf:9', message: 'cannot read included file /etc/redis/missing.conf' }]);
  const facts = confFacts(conf);
  assert.equal(facts.config?.requirepass, '<set>', 'the password never leaves the parser');
  const def = facts.acl?.find((u) => u.name === 'default');
  assert.deepEqual(def, { name: 'default', enabled: true, nopass: false, dangerous: ['FLUSHDB', 'DEBUG', 'KEYS'] });
});

test('include cycles are reported, not followed forever', () => {
  const conf = parseConf('include b.conf\n', '/c/a.conf', (p) => (p === '/c/b.conf' ? 'include a.conf\nport 1\n' : ''));
  assert.equal(conf.config.port, '1');
  assert.match(conf.problems[0].message, /include cycle/);
});

test('ACL rules are evaluated left to right for the dangerous commands', () => {
  const table: Array<[string[], string[]]> = [
    [['+@all'], ['FLUSHALL', 'FLUSHDB', 'CONFIG', 'DEBUG', 'KEYS']],
    [['+@all', '-@dangerous'], []],
    [
      ['allcommands', '-flushall', '-keys'],
      ['FLUSHDB', 'CONFIG', 'DEBUG'],
    ],
    [
      ['+@read', '+@write'],
      ['FLUSHALL', 'FLUSHDB', 'KEYS'],
    ],
    [
      ['+@all', '-@admin'],
      ['FLUSHALL', 'FLUSHDB', 'KEYS'],
    ],
    [['+get', '+set'], []],
    [['+@all', 'nocommands', '+keys'], ['KEYS']],
  ];
  for (const [rules, expected] of table) assert.deepEqual(dangerousAllowedByRules(rules).sort(), [...expected].sort(), rules.join(' '));
});

test('offline lint of redis.conf files: a risky one and a hardened one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keywarden-conf-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', '10-mem.conf'), 'maxmemory 2gb\n');
    writeFileSync(
      join(dir, 'risky.conf'),
      [
        'bind 0.0.0.0',
        'protected-mode no',
        'maxmemory-policy volatile-lru',
        'include conf.d/*.conf',
        'maxmemory 1gb',
        'save ""',
        'requirepass "unbalanced',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'hardened.conf'),
      [
        'bind 127.0.0.1 10.0.0.5',
        'protected-mode yes',
        'requirepass "s3cr3t value"',
        'maxmemory 4gb',
        'maxmemory-policy volatile-lru',
        'rename-command FLUSHALL ""',
        'rename-command FLUSHDB ""',
        'rename-command KEYS ""',
        'rename-command CONFIG ""',
        'lazyfree-lazy-eviction yes',
      ].join('\n'),
    );
    const risky = await diagnose(undefined, { config: join(dir, 'risky.conf') });
    const ids = risky.findings.map((f) => `${f.id}:${f.severity}`).sort();
    assert.deepEqual(ids, [
      'auth-disabled:critical',
      'bind-all-interfaces:critical',
      'conf-duplicate-directive:warning',
      'conf-unreadable-lines:critical',
      'dangerous-commands-allowed:info',
      'protected-mode-off:critical',
    ]);
    assert.match(risky.findings.find((f) => f.id === 'conf-duplicate-directive')?.detail ?? '', /maxmemory at .*risky\.conf:5/);
    assert.ok(
      risky.skipped.some((s) => s.id === 'memory-near-limit' && /live server|INFO/.test(s.reason)),
      'live-only checks are listed as skipped',
    );

    const hardened = await diagnose(undefined, { config: join(dir, 'hardened.conf') });
    assert.deepEqual(hardened.findings, []);
    assert.ok(!JSON.stringify(hardened).includes('s3cr3t'), 'the password is never in the report');
    assert.equal(readConf(join(dir, 'hardened.conf')).config.maxmemory, String(4 * 1024 ** 3));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
