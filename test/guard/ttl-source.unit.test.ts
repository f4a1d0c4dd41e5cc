import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TtlSource } from '../../src/guard/ttl-source.js';
import type { PolicyRule } from '../../src/policy/index.js';

const rule = (ttlMs: number, jitter?: number): PolicyRule => ({ index: 0, match: 'k:*', ttlMs, ...(jitter === undefined ? {} : { jitter }) });

describe('guard TTL source', () => {
  it('spells every number exactly as String() does, in and out of the cached range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 400 * 86_400_000 }),
        fc.double({ min: 0.001, max: 0.999, noNaN: true }),
        fc.oneof(fc.integer({ min: 0, max: 1e12 }), fc.double({ min: 0, max: 1e9, noNaN: true })),
        (ttlMs, jitter, ms) => {
          const source = new TtlSource(rule(ttlMs, jitter), ttlMs, undefined);
          const inRange = source.draw();
          return source.text(ms) === String(ms) && source.text(inRange) === String(inRange) && source.text(ttlMs) === String(ttlMs);
        },
      ),
    );
  });

  it('without jitter: one TTL spelled once; with jitter: a fresh TTL per write, within (ttl × (1 − jitter), ttl]', () => {
    const fixed = new TtlSource(rule(3_600_000), 3_600_000, undefined);
    assert.equal(fixed.pxText(), '3600000');
    assert.equal(fixed.draw(), 3_600_000);

    let r = 0;
    const jittered = new TtlSource(rule(3_600_000, 0.1), 3_600_000, () => (r = (r + 0.37) % 1));
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const text = jittered.pxText();
      const ms = Number(text);
      assert.ok(ms > 3_240_000 && ms <= 3_600_000 && text === String(ms), text);
      seen.add(text);
    }
    assert.ok(seen.size > 10, 'the TTL varies from write to write');
  });

  it('spells TTLs whose jitter range is too wide to cache, and the 1 s floor, like String()', () => {
    const wide = new TtlSource(rule(365 * 86_400_000, 0.5), 365 * 86_400_000, () => 0.999);
    assert.equal(wide.text(wide.draw()), String(wide.draw()));
    const short = new TtlSource(rule(1_500, 0.9), 1_500, () => 0.999);
    assert.equal(short.draw(), 1_000);
    assert.equal(short.text(1_000), '1000');
    assert.equal(short.text(999), '999');
  });
});
