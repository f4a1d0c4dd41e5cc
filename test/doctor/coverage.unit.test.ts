/** The budget estimate and the scan command of doctor's coverage, on hand-built inputs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateAllMs, scanCommandFor } from '../../src/doctor/coverage.js';
import type { ScanReport } from '../../src/keyspace/report.js';
import type { Target } from '../../src/target/connect.js';

const report = (keysSeen: number, dbsize: number, durationMs: number) => ({ coverage: { keysSeen, dbsize, durationMs } }) as ScanReport;

test('estimateAllMs: setup before the first batch once, then DBSIZE × the cost per key after it', () => {
  const cases: Array<{ what: string; marks: Array<[number, number]>; sample: ScanReport; expect: number }> = [
    // 150 ms of setup, then 9,000 keys in 90 ms: 10 µs per key; 1M keys ≈ 150 + 10,000 ms.
    {
      what: 'marginal cost',
      marks: [
        [1150, 1000],
        [1240, 10_000],
      ],
      sample: report(10_000, 1_000_000, 240),
      expect: 150 + 10_000,
    },
    { what: 'one batch: the average', marks: [[1100, 10_000]], sample: report(10_000, 100_000, 100), expect: 1000 },
    { what: 'no progress reported', marks: [], sample: report(5000, 50_000, 50), expect: 500 },
    { what: 'no key read', marks: [], sample: report(0, 50_000, 5000), expect: Infinity },
  ];
  for (const c of cases) assert.equal(estimateAllMs(c.sample, c.marks, 1000), c.expect, c.what);
});

test('scanCommandFor: the target as its command named it (user and TLS flags, no password), and --replicas when replicas were read', () => {
  const target = (display: string, role: 'master' | 'replica', command?: { args: string; needsAuth: boolean }) =>
    ({ spec: { display, command }, nodes: [{ role }] }) as unknown as Target;
  assert.equal(
    scanCommandFor(target('redis://<credentials redacted>@db.internal:6380/2', 'master', { args: 'redis://db.internal:6380/2 --user app', needsAuth: true })),
    'keywarden scan redis://db.internal:6380/2 --user app (with REDISCLI_AUTH=<password> exported)',
  );
  assert.equal(
    scanCommandFor(target('redis://<credentials redacted>@db.internal:6380/2', 'master')),
    'keywarden scan redis://db.internal:6380/2 (with REDISCLI_AUTH=<password> exported)',
  );
  assert.equal(scanCommandFor(target('rediss://db.internal:6380', 'replica')), 'keywarden scan rediss://db.internal:6380 --replicas');
});
