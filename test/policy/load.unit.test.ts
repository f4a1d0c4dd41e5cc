import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adHocPolicy, loadPolicy, parsePolicy, policyFromObject, PolicyValidationError } from '../../src/policy/index.js';
import { PolicyError } from '../../src/errors.js';

const EXAMPLE = `rules:                       # first match wins; globs use Redis MATCH syntax
  - match: "session:*"
    ttl: 24h
    role: session            # session | cache | token | counter | queue | durable
  - match: "cache:*"
    ttl: 1h
    jitter: 10%
  - match: "user:*:profile"
    role: durable            # meant to live forever: never given a TTL
alerts:
  noTtlKeys: 1000
  memoryUsedRatio: 0.8
`;

describe('parsePolicy', () => {
  test('parses the example from PRODUCT.md', () => {
    assert.deepEqual(parsePolicy(EXAMPLE, 'keywarden.yml'), {
      rules: [
        { index: 0, match: 'session:*', ttlMs: 86_400_000, role: 'session', line: 2 },
        { index: 1, match: 'cache:*', ttlMs: 3_600_000, jitter: 0.1, line: 5 },
        { index: 2, match: 'user:*:profile', role: 'durable', line: 8 },
      ],
      alerts: { noTtlKeys: 1000, memoryUsedRatio: 0.8 },
      file: 'keywarden.yml',
    });
  });

  test('every alert field', () => {
    const policy = parsePolicy(
      'alerts:\n  noTtlKeys: 0\n  memoryUsedRatio: 90%\n  evictions: true\n  noTtlGrowth: { window: 15m, minIncrease: 500 }\n  timeToFull: 6h\n  repeatInterval: 1h\n',
    );
    assert.deepEqual(policy.alerts, {
      noTtlKeys: 0,
      memoryUsedRatio: 0.9,
      evictions: true,
      noTtlGrowth: { window: 900_000, minIncrease: 500 },
      timeToFullMs: 21_600_000,
      repeatIntervalMs: 3_600_000,
    });
    assert.equal(policy.file, undefined);
  });

  test('empty file, empty rules list and null sections are an empty policy', () => {
    for (const text of ['', '# nothing yet\n', 'rules: []\n', 'rules:\nalerts:\n']) {
      assert.deepEqual(parsePolicy(text), { rules: [], alerts: {} }, JSON.stringify(text));
    }
  });

  test('ttl as plain seconds, jitter as a number, YAML anchors', () => {
    const policy = parsePolicy('rules:\n  - match: "a:*"\n    ttl: 3600\n    jitter: 0.25\n  - match: "b:*"\n    ttl: "90"\n');
    assert.equal(policy.rules[0].ttlMs, 3_600_000);
    assert.equal(policy.rules[0].jitter, 0.25);
    assert.equal(policy.rules[1].ttlMs, 90_000);
  });

  // [yaml, exact message, hint fragment]. Every error names file:line and the field.
  const ERRORS: [string, string, RegExp][] = [
    [
      'rules:\n  - match: "a:*"\n    ttl: 1h\n  - match: "b:*"\n    ttl: 2x\n',
      "keywarden.yml:5: rules[1].ttl: '2x' is not a duration (use 500ms, 90s, 30m, 24h, 7d or seconds)",
      /500ms/,
    ],
    ['rules:\n  - match: "a:*"\n    tll: 1h\n', 'keywarden.yml:3: rules[0].tll: unknown field (and 1 more problem)', /did you mean ttl\?/],
    ['rules:\n  - match: "a:*"\n    ttl: 1h\n    jiter: 10%\n', 'keywarden.yml:4: rules[0].jiter: unknown field', /did you mean jitter\?/],
    ['rule:\n  - match: "a:*"\n', 'keywarden.yml:1: rule: unknown field', /did you mean rules\?/],
    ['alerts:\n  noTTLKeys: 5\n', 'keywarden.yml:2: alerts.noTTLKeys: unknown field', /did you mean noTtlKeys\?/],
    [
      'alerts:\n  noTtlGrowth:\n    window: 5m\n    minIncrase: 3\n',
      'keywarden.yml:4: alerts.noTtlGrowth.minIncrase: unknown field (and 1 more problem)',
      /did you mean minIncrease\?/,
    ],
    ['rules:\n  - ttl: 1h\n', 'keywarden.yml:2: rules[0].match: is required', /match: "session:\*"/],
    ['rules:\n  - match: ""\n    ttl: 1h\n', 'keywarden.yml:2: rules[0].match: is empty', /glob/],
    ['rules:\n  - match: [abc]\n    ttl: 1h\n', 'keywarden.yml:2: rules[0].match: expected a string, got array', /quote globs/],
    [
      'rules:\n  - match: *:session\n    ttl: 1h\n',
      'keywarden.yml:2: YAML: *:session is a YAML alias to no anchor (an unquoted value starting with * is an alias)',
      /quote globs/,
    ],
    ['rules:\n  - match: "u:*"\n    role: durable\n    ttl: 1h\n', 'keywarden.yml:4: rules[0].ttl: a durable rule must not have a ttl', /remove ttl:/],
    [
      'rules:\n  - match: "u:*"\n    role: durable\n    jitter: 5%\n',
      'keywarden.yml:4: rules[0].jitter: a durable rule has no ttl to jitter',
      /remove jitter:/,
    ],
    ['rules:\n  - match: "a:*"\n    role: cache\n', "keywarden.yml:2: rules[0]: no ttl for 'a:*'", /add ttl: .* or role: durable/],
    [
      'rules:\n  - match: "a:*"\n    ttl: 1h\n    role: sesion\n',
      "keywarden.yml:4: rules[0].role: 'sesion' is not a role (session, cache, token, counter, queue, durable)",
      /durable/,
    ],
    ['rules:\n  - match: "a:*"\n    ttl: 0\n', 'keywarden.yml:3: rules[0].ttl: 0 is too short: a key TTL must be at least 1s', /30s/],
    ['rules:\n  - match: "a:*"\n    ttl: 500ms\n', "keywarden.yml:3: rules[0].ttl: '500ms' is too short: a key TTL must be at least 1s", /30s/],
    ['rules:\n  - match: "a:*"\n    ttl: -5\n', 'keywarden.yml:3: rules[0].ttl: -5 is not a duration (use 500ms, 90s, 30m, 24h, 7d or seconds)', /durations/],
    ['rules:\n  - match: "a:*"\n    ttl:\n', 'keywarden.yml:3: rules[0].ttl: is empty', /duration/],
    [
      'rules:\n  - match: "a:*"\n    ttl: 1h\n    jitter: 100%\n',
      "keywarden.yml:4: rules[0].jitter: '100%' is out of range (from 0 up to, not including, 100%)",
      /10%/,
    ],
    [
      'rules:\n  - match: "a:*"\n    ttl: 1h\n    jitter: 10\n',
      'keywarden.yml:4: rules[0].jitter: 10 is out of range (from 0 up to, not including, 100%)',
      /10%/,
    ],
    ['rules:\n  - match: "a:*"\n    ttl: 1h\n    jitter: lots\n', "keywarden.yml:4: rules[0].jitter: 'lots' is not a fraction", /percentage/],
    ['rules:\n  match: "a:*"\n', 'keywarden.yml:1: rules: expected a list, got object', /- match:/],
    ['alerts:\n  noTtlKeys: many\n', 'keywarden.yml:2: alerts.noTtlKeys: expected a number, got string', /whole number/],
    ['alerts:\n  noTtlKeys: 1.5\n', 'keywarden.yml:2: alerts.noTtlKeys: must be a whole number', /whole number/],
    ['alerts:\n  memoryUsedRatio: 1.5\n', 'keywarden.yml:2: alerts.memoryUsedRatio: 1.5 is out of range (above 0, at most 100%)', /80%/],
    ['alerts:\n  evictions: yes\n', 'keywarden.yml:2: alerts.evictions: expected a boolean, got string', /true or false/],
    ['alerts:\n  noTtlGrowth: { window: 15m }\n', 'keywarden.yml:2: alerts.noTtlGrowth.minIncrease: is required', /minIncrease: 1000/],
    ['alerts:\n  timeToFull: soon\n', "keywarden.yml:2: alerts.timeToFull: 'soon' is not a duration (use 500ms, 90s, 30m, 24h, 7d or seconds)", /durations/],
    ['- match: "a:*"\n', 'keywarden.yml:1: policy: expected a mapping with rules: and alerts:, got array', /rules: and alerts:/],
    ['rules:\n  - match: "a:*"\n    ttl: 1h\n    ttl: 2h\n', 'keywarden.yml:4: YAML: Map keys must be unique', /YAML syntax/],
    ['rules:\n  - match: "a:*"\n   ttl: 1h\n', 'keywarden.yml:3: YAML: ', /YAML syntax/],
  ];
  for (const [yaml, message, hint] of ERRORS) {
    test(`error: ${message}`, () => {
      assert.throws(
        () => parsePolicy(yaml, 'keywarden.yml'),
        (err: unknown) => {
          assert.ok(err instanceof PolicyError, `not a PolicyError: ${String(err)}`);
          if (message.endsWith(': ')) assert.ok(err.message.startsWith(message), err.message);
          else assert.equal(err.message, message);
          assert.match(err.hint, hint);
          return true;
        },
      );
    });
  }

  test('lists every problem, the first in the message', () => {
    const yaml = 'rules:\n  - match: "a:*"\n    ttl: 2x\n  - match: "b:*"\n    role: nope\n    ttl: 1h\nalerts:\n  evictions: 3\n';
    try {
      parsePolicy(yaml, 'p.yml');
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof PolicyValidationError);
      assert.deepEqual(
        err.issues.map((i) => `${i.line} ${i.field}`),
        ['3 rules[0].ttl', '5 rules[1].role', '8 alerts.evictions'],
      );
      assert.match(err.message, /^p\.yml:3: rules\[0\]\.ttl: .* \(and 2 more problems\)$/);
    }
  });

  test('messages escape control characters from the file', () => {
    assert.throws(
      () => parsePolicy('rules:\n  - match: "a"\n    ttl: "\\u001b[31m"\n', 'k.yml'),
      (err: Error) => !err.message.includes('\u001b'),
    );
  });
});

describe('loadPolicy', () => {
  test('reads a file and names it in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keywarden-policy-'));
    try {
      const good = join(dir, 'keywarden.yml');
      writeFileSync(good, EXAMPLE);
      const policy = await loadPolicy(good);
      assert.equal(policy.file, good);
      assert.equal(policy.rules.length, 3);

      const bad = join(dir, 'bad.yml');
      writeFileSync(bad, 'rules:\n  - match: x\n    ttl: 2x\n');
      await assert.rejects(loadPolicy(bad), (err: Error) => err.message.startsWith(`${bad}:3: rules[0].ttl:`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing file is a PolicyError with a hint', async () => {
    await assert.rejects(loadPolicy('/nonexistent/keywarden.yml'), (err: unknown) => {
      assert.ok(err instanceof PolicyError);
      assert.equal(err.message, 'cannot read policy file /nonexistent/keywarden.yml: no such file');
      assert.match(err.hint, /--policy.*keywarden policy init/);
      return true;
    });
    await assert.rejects(loadPolicy(tmpdir()), (err: PolicyError) => /is a directory/.test(err.message));
  });
});

describe('policyFromObject', () => {
  test('same shape as the YAML; ttl as seconds or duration string', () => {
    const policy = policyFromObject({
      rules: [
        { match: 'session:*', ttl: 86400, role: 'session' },
        { match: 'cache:*', ttl: '1h', jitter: '10%' },
        { match: 'user:*', role: 'durable' },
      ],
      alerts: { noTtlKeys: 10 },
    });
    assert.deepEqual(policy, {
      rules: [
        { index: 0, match: 'session:*', ttlMs: 86_400_000, role: 'session' },
        { index: 1, match: 'cache:*', ttlMs: 3_600_000, jitter: 0.1 },
        { index: 2, match: 'user:*', role: 'durable' },
      ],
      alerts: { noTtlKeys: 10 },
    });
    // A policy we built passes through untouched (the guard accepts loadPolicy's result).
    assert.equal(policyFromObject(policy), policy);
    assert.deepEqual(policyFromObject(undefined), { rules: [], alerts: {} });
  });

  test('a copy of a Policy (spread, structuredClone) validates to the same policy', () => {
    const original = parsePolicy(EXAMPLE + '  timeToFull: 6h\n  repeatInterval: 90s\n  noTtlGrowth: { window: 15m, minIncrease: 5 }\n', 'k.yml');
    const { file: _file, ...rest } = original;
    const expected = { ...rest, rules: original.rules.map(({ line: _line, ...r }) => r) };
    assert.deepEqual(policyFromObject(structuredClone(original)), expected);
    assert.deepEqual(policyFromObject({ ...original }), expected);
    const broken = structuredClone(original);
    (broken.rules[0] as { ttlMs?: number }).ttlMs = 10;
    assert.throws(() => policyFromObject(broken), { message: "policy object: rules[0].ttl: '10ms' is too short: a key TTL must be at least 1s" });
  });

  test('errors name the source and field, without a line', () => {
    assert.throws(() => policyFromObject({ rules: [{ match: 'a:*', ttl: '2x' }] }, 'guard options.policy'), {
      message: "guard options.policy: rules[0].ttl: '2x' is not a duration (use 500ms, 90s, 30m, 24h, 7d or seconds)",
    });
    assert.throws(() => policyFromObject({ rules: [{ match: 'a:*', tll: 60 }] }), {
      message: 'policy object: rules[0].tll: unknown field (and 1 more problem)',
    });
    assert.throws(() => policyFromObject('rules'), { message: 'policy object: policy: expected a mapping with rules: and alerts:, got string' });
    assert.throws(() => policyFromObject({ rules: [{ match: 'a:*', ttl: 60, role: 'durable' }] }), PolicyError);
  });
});

describe('adHocPolicy', () => {
  test('one rule from --match and --ttl', () => {
    assert.deepEqual(adHocPolicy('session:*', '1h'), { rules: [{ index: 0, match: 'session:*', ttlMs: 3_600_000 }], alerts: {} });
    assert.equal(adHocPolicy('x', '90').rules[0].ttlMs, 90_000);
  });

  test('errors name the flag', () => {
    assert.throws(() => adHocPolicy('a:*', '2x'), { message: "--ttl: '2x' is not a duration (use 500ms, 90s, 30m, 24h, 7d or seconds)" });
    assert.throws(() => adHocPolicy('a:*', '0'), { message: "--ttl '0': 0s is below the minimum key TTL of 1s (a TTL that short deletes the key at once)" });
    assert.throws(() => adHocPolicy('', '1h'), { message: '--match: the glob is empty' });
  });
});
