// The Pacer on its own: call sizing from measured costs, the ops cap. No server: the figures
// given to `record` stand for what a call measured. Options are given explicitly where a
// default is tuning (bench:scan decides it), so these check the mechanism, not the numbers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pacer } from '../../src/keyspace/walk/pace.js';

describe('Pacer', () => {
  it('starts with 100 keys a call (500 with fast), or the initial batch asked for', () => {
    assert.equal(new Pacer().nextBatch(), 100);
    assert.equal(new Pacer({ fast: true }).nextBatch(), 500);
    assert.equal(new Pacer({ initialBatch: 42 }).nextBatch(), 42);
  });

  it('sizes the next call to the target call time from the measured cost per key', () => {
    const pacer = new Pacer({ targetCallMs: 0.5, initialBatch: 100 });
    // 100 keys in 1 ms: 0.01 ms a key, so a 0.5 ms call covers 50.
    pacer.record(1, 100, 100);
    assert.equal(pacer.nextBatch(), 50);
  });

  it('smooths the cost per key (0.7 old, 0.3 new): one fast call does not swing the size', () => {
    const pacer = new Pacer({ targetCallMs: 0.5, initialBatch: 100 });
    pacer.record(1, 100, 100); // 0.01 ms a key
    pacer.record(0.1, 50, 50); // 0.002 ms a key: smoothed 0.0076
    assert.equal(pacer.nextBatch(), Math.round(0.5 / (0.01 * 0.7 + 0.002 * 0.3)));
  });

  it('at most doubles a call at a time, and keeps calls between 10 and 5000 keys', () => {
    const cheap = new Pacer({ targetCallMs: 0.5, initialBatch: 100 });
    cheap.record(0.01, 100, 100);
    assert.equal(cheap.nextBatch(), 200, 'doubled, not jumped to the 5000 the cost allows');
    for (let i = 0; i < 20; i++) cheap.record(0.0001, cheap.nextBatch(), cheap.nextBatch());
    assert.equal(cheap.nextBatch(), 5000);
    const dear = new Pacer({ targetCallMs: 0.5, initialBatch: 100 });
    dear.record(100, 100, 100);
    assert.equal(dear.nextBatch(), 10);
  });

  it('ignores calls that measured nothing', () => {
    const pacer = new Pacer({ initialBatch: 100 });
    pacer.record(0, 100, 100);
    pacer.record(1, 0, 0);
    assert.equal(pacer.nextBatch(), 100);
  });

  it('plans self-timed calls: the whole budget, shared between the calls in flight (lanes)', () => {
    const one = new Pacer({ targetCallMs: 0.5 }).nextCall();
    const two = new Pacer({ targetCallMs: 0.5, inFlight: 2 }).nextCall();
    assert.equal(one.budgetMs, 0.5);
    assert.equal(one.maxKeys, 0);
    assert.equal(two.budgetMs, one.budgetMs / 2);
  });

  it('never plans a call longer than maxCallMs', () => {
    assert.equal(new Pacer({ targetCallMs: 10, maxCallMs: 5 }).nextCall().budgetMs, 5);
    const pacer = new Pacer({ targetCallMs: 10, maxCallMs: 2, initialBatch: 100 });
    pacer.record(1, 100, 100);
    assert.equal(pacer.nextBatch(), 200, 'sized to 2 ms (200 keys), not to 10 ms');
  });

  it('with an ops cap, keeps calls to a twentieth of a second of it and waits until the keys handled are due', async () => {
    const pacer = new Pacer({ maxOps: 1000, targetCallMs: 5, maxCallMs: 5 });
    assert.equal(pacer.nextCall().maxKeys, 50);
    pacer.record(0.1, 60, 60);
    const t0 = performance.now();
    await pacer.wait();
    const waited = performance.now() - t0;
    // 60 keys at 1000/s are due 60 ms after the pacer started.
    assert.ok(waited >= 40 && waited < 1000, `waited ${waited.toFixed(1)} ms`);
  });

  it('does not pause without an ops cap or a probe', async () => {
    const pacer = new Pacer();
    for (let i = 0; i < 100; i++) pacer.record(5, 10, 10);
    const t0 = performance.now();
    await pacer.wait();
    assert.ok(performance.now() - t0 < 20);
    assert.equal(pacer.observedP99(), undefined);
    pacer.stop();
  });
});
