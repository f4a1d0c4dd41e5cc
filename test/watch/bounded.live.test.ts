/**
 * Memory stays flat: many passes over a keyspace whose patterns keep changing leave the
 * exported series, the histories and the heap bounded (no per-key or per-pass state kept).
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import { startRedis } from '../support/redis.js';
import { get, seed, series, waitFor, watch } from './support.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('watch over many passes', () => {
  it('keeps series, histories and heap bounded while patterns churn', async () => {
    const server = await startRedis();
    const c = server.client();
    await seed(c, 'base', 500);
    const w = await watch(server.url, { intervalMs: 10, infoIntervalMs: 10, top: 5 });
    let round = 0;
    const churn = async (passes: number) => {
      const target = w.view.state.passes + passes;
      while (w.view.state.passes < target) {
        // A new namespace every round: 40 keys whose pattern no earlier pass saw.
        await seed(c, `tenant${round}:item`, 40);
        if (round >= 5) await c.del(...Array.from({ length: 40 }, (_, i) => `tenant${round - 5}:item:${i}`));
        round++;
        await w.nextPass();
      }
    };
    try {
      await churn(30);
      const before = heap();
      await churn(120);
      const grown = heap() - before;
      assert.ok(grown < 4 * 1024 * 1024, `heap grew ${(grown / 1024 / 1024).toFixed(1)} MB over 120 passes`);

      // The pass in flight may have started before the last writes: wait for one that did not.
      await w.nextPass();
      await w.nextPass();
      const body = (await get(`${w.url}/metrics`)).body;
      const patterns = series(body, 'keywarden_pattern_keys').map((s) => s.labels.pattern);
      assert.ok(patterns.length <= 6, `at most top 5 + (other): ${patterns.join(', ')}`);
      assert.equal(
        series(body, 'keywarden_pattern_keys').reduce((s, x) => s + x.value, 0),
        await c.dbsize(),
      );
      await waitFor('history at its cap', () => Object.values(w.view.state.history).every((h) => h.length <= 720));
      assert.ok(w.view.state.patternHistory.length <= 200);
      assert.ok(w.view.state.patternHistory.every((h) => Object.keys(h.noTtl).length <= 5));
    } finally {
      await w.stop();
      c.disconnect();
      await server.stop();
    }
  });
});
