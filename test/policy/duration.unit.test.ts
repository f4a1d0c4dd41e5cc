import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration, parseFraction, toExpireSeconds } from '../../src/policy/duration.js';
import { PolicyError } from '../../src/errors.js';

describe('parseDuration', () => {
  const VALID: [string | number, number][] = [
    ['500ms', 500],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    [' 10s ', 10_000],
    ['3600', 3_600_000],
    ['0', 0],
    [3600, 3_600_000],
    [0.25, 250],
    [0, 0],
  ];
  for (const [input, ms] of VALID) {
    test(`${JSON.stringify(input)} → ${ms} ms`, () => assert.equal(parseDuration(input), ms));
  }

  const INVALID: (string | number)[] = ['', '2x', 'h', '10 s', '10S', '1h 30m', '-5s', -1, Number.NaN, Infinity, '0.5ms', '1e3', 'ten', '10sec', '0.0001'];
  for (const input of INVALID) {
    test(`rejects ${JSON.stringify(input)} with a PolicyError naming it`, () => {
      assert.throws(
        () => parseDuration(input),
        (err: unknown) =>
          err instanceof PolicyError && err.message.includes('is not a duration (use 500ms, 90s, 30m, 24h, 7d or seconds)') && err.hint.length > 0,
      );
    });
  }

  test('plain decimal seconds are accepted when they are whole milliseconds', () => {
    assert.equal(parseDuration('1.5'), 1500);
  });

  test('rejects values that are not strings or numbers', () => {
    assert.throws(() => parseDuration(null as unknown as string), PolicyError);
    assert.throws(() => parseDuration({} as unknown as string), PolicyError);
  });
});

describe('formatDuration', () => {
  const CASES: [number, string][] = [
    [86_400_000, '24h'],
    [172_800_000, '2d'],
    [604_800_000, '7d'],
    [3_600_000, '1h'],
    [5_400_000, '90m'],
    [90_000, '90s'],
    [60_000, '1m'],
    [1500, '1500ms'],
    [1000, '1s'],
    [0, '0s'],
  ];
  for (const [ms, text] of CASES) {
    test(`${ms} → ${text}`, () => assert.equal(formatDuration(ms), text));
  }

  test('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1000, 59_999, 60_000, 86_399_999, 86_400_000, 90_061_001, 2 ** 40]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });
});

describe('parseFraction and toExpireSeconds', () => {
  test('percentages and numbers', () => {
    assert.equal(parseFraction('10%'), 0.1);
    assert.equal(parseFraction('12.5%'), 0.125);
    assert.equal(parseFraction(0.1), 0.1);
    assert.equal(parseFraction('0.1'), 0.1);
    assert.throws(() => parseFraction('ten'), PolicyError);
    assert.throws(() => parseFraction('%'), PolicyError);
  });

  test('EXPIRE seconds round up and never reach 0', () => {
    assert.equal(toExpireSeconds(1), 1);
    assert.equal(toExpireSeconds(1000), 1);
    assert.equal(toExpireSeconds(1001), 2);
    assert.equal(toExpireSeconds(86_400_000), 86_400);
  });
});
