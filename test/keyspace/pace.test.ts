/**
 * The Pacer's call sizing, without a server: how the next call is planned from the cost
 * measured so far, how one slow call is smoothed, and the --max-ops cap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pacer } from '../../src/keyspace/pace.js';

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual}, expected ${expected}`);

describe('Pacer', () => {
  it("plans self-timed calls at the target split across the calls in flight, before anything is measured", () => {
    // 0.5 ms default, two lanes: 0.25 ms each; the first page is 3/4 of it at the assumed 5 µs a bucket.
    const fill = new Pacer({ inFlight: 2 }).nextCall('fill');
    close(fill.budgetMs, 0.25, 'budget');
    assert.equal(fill.pageCount, Math.round((0.25 * 0.75) / 0.005));
    assert.equal(fill.maxKeys, 0);
    // 'fixed' pages are a quarter of the call, and the budget leaves room for the last one.
    const fixed = new Pacer().nextCall('fixed');
    assert.equal(fixed.pageCount, 25);
    close(fixed.budgetMs, 0.5 - 25 * 0.005, 'budget');
  });

  it('--fast aims at 3 ms a call, never above maxCallMs', () => {
    close(new Pacer({ fast: true }).nextCall('fill').budgetMs, 3, 'fast');
    close(new Pacer({ fast: true, targetCallMs: 9, maxCallMs: 5 }).nextCall('fill').budgetMs, 5, 'capped');
  });

  it('sizes pages from a smoothed cost per unit: one slow call moves it by 30%', () => {
    const pacer = new Pacer();
    pacer.record(1, 100, 100); // 10 µs a bucket
    assert.equal(pacer.nextCall('fill').pageCount, Math.round((0.5 * 0.75) / 0.01));
    pacer.record(10, 100, 100); // one call ten times slower
    const perUnit = 0.01 * 0.7 + 0.1 * 0.3;
    assert.equal(pacer.nextCall('fill').pageCount, Math.round((0.5 * 0.75) / perUnit));
  });

  it('grows batches at most twofold a call, within 10..5000', () => {
    const pacer = new Pacer({ initialBatch: 100 });
    pacer.record(0.001, 100, 100); // 10 ns a key would allow 50,000
    assert.equal(pacer.nextBatch(), 200);
    for (let i = 0; i < 20; i++) pacer.record(0.001, 100, 100);
    assert.equal(pacer.nextBatch(), 5000);
    const slow = new Pacer({ initialBatch: 100 });
    slow.record(100, 100, 100); // 1 ms a key
    assert.equal(slow.nextBatch(), 10);
  });

  it('--max-ops keeps calls to a twentieth of a second of the cap, and waits for the rate', async () => {
    const pacer = new Pacer({ maxOps: 200 });
    const plan = pacer.nextCall('fill');
    assert.equal(plan.maxKeys, 10);
    assert.ok(plan.pageCount <= 10);
    pacer.record(0.1, 20, 20); // 20 keys at 200/s: due 100 ms after the start
    const t0 = performance.now();
    await pacer.wait();
    assert.ok(performance.now() - t0 >= 80, 'waited for the rate');
    pacer.stop();
  });

  it('a call that reports no duration or no units changes nothing', () => {
    const pacer = new Pacer();
    const before = pacer.nextCall('fill');
    pacer.record(0, 100, 100);
    pacer.record(1, 0, 0);
    assert.deepEqual(pacer.nextCall('fill'), before);
  });
});
