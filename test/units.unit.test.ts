/**
 * The formatters of every output (src/units.ts), and the one property the pages rely on: each
 * runs the same from its source text, as the HTML report and the dashboard run it.
 */
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import { formatBytes, formatCount, formatRoughDuration, formatSeconds, formatTtl, unitsSource } from '../src/units.js';

const cases = {
  formatBytes: [
    [512, '512 B'],
    [1536, '1.50 KiB'],
    [134_400_000, '128.2 MiB'],
    [-1, 'n/a'],
  ],
  formatCount: [
    [1_234_567.8, '1,234,568'],
    [0, '0'],
  ],
  formatTtl: [
    [3_600_000, '1h'],
    [90_000, '1m30s'],
    [90_061_000, '1d1h'],
    [400, '400ms'],
    [-1, 'none'],
  ],
  formatSeconds: [
    [42, '42s'],
    [5400, '1h 30m'],
    [90, '1m 30s'],
    [90_000, '1d 1h'],
  ],
  formatRoughDuration: [
    [42_000, '42 s'],
    [600_000, '10 min'],
    [2 * 3_600_000, '2.0 h'],
    [2 * 86_400_000, '2.0 days'],
  ],
} as const;

const functions = { formatBytes, formatCount, formatTtl, formatSeconds, formatRoughDuration };

describe('units', () => {
  for (const [name, table] of Object.entries(cases)) {
    it(`${name}, here and from the source a page runs`, () => {
      const page = runInNewContext(`${unitsSource()}\n({ ${Object.keys(functions).join(', ')} })`) as typeof functions;
      for (const [input, expected] of table) {
        assert.equal(functions[name as keyof typeof functions](input), expected, `${name}(${input})`);
        assert.equal(page[name as keyof typeof functions](input), expected, `${name}(${input}) in the page`);
      }
    });
  }
});
