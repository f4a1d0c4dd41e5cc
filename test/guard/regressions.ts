/**
 * Regression cases for the guard defects found by running real libraries through it
 * (issue #15), run for every client library major and topology.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { GuardViolation } from '../../src/guard/index.js';
import type { Driver } from './drivers.js';
import { POLICY, space } from './suite.js';

const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Register the regression cases for one driver (resolved lazily, once the servers are up). */
export function regressionSuite(driverOf: () => Driver): void {
  const d = () => driverOf();
  const pttl = (key: string) => d().raw.call(['PTTL', key]) as Promise<number>;

  it('blocking BLMOVE / BRPOPLPUSH still block (no MULTI around them), and the moved-to key gets its TTL', async () => {
    const g = d().guarded({ policy: POLICY });
    for (const name of ['BLMOVE', 'BRPOPLPUSH']) {
      const p = space();
      const src = p('t', 'src');
      const dst = p('t', 'dst');
      const execsBefore = await d().commandCalls('exec');
      const args = name === 'BLMOVE' ? ['BLMOVE', src, dst, 'LEFT', 'RIGHT', '0.4'] : ['BRPOPLPUSH', src, dst, '0.4'];
      let started = Date.now();
      assert.equal(await g.call(args), null, `${name} on an empty list times out with nil`);
      assert.ok(Date.now() - started >= 350, `${name} returned after ${Date.now() - started} ms: it did not block`);
      assert.equal(await pttl(dst), -2);
      // An element pushed while it waits is moved, and the destination gets the rule's TTL.
      started = Date.now();
      const waiting = g.call(name === 'BLMOVE' ? ['BLMOVE', src, dst, 'LEFT', 'RIGHT', '5'] : ['BRPOPLPUSH', src, dst, '5']);
      await sleep(150);
      await d().raw.call(['RPUSH', src, 'job']);
      assert.equal(await waiting, 'job');
      const ttl = await pttl(dst);
      assert.ok(ttl > HOUR - 60_000 && ttl <= HOUR, `${name}: PTTL ${ttl}`);
      assert.equal(await d().commandCalls('exec'), execsBefore, `${name} was wrapped in MULTI/EXEC`);
    }
  });

  it('COPY … DB n never puts a TTL on the key of that name in the current database', async () => {
    const violations: GuardViolation[] = [];
    const g = d().guarded({ policy: POLICY, onViolation: (v) => violations.push(v) });
    const p = space();
    const src = p('t', 'src');
    const dst = p('t', 'dst');
    await d().raw.call(['SET', src, 'v']);
    await d().raw.call(['SET', dst, 'unrelated']); // db 0's own key of that name, no TTL
    const raw = await d()
      .raw.call(['COPY', src, p('t', 'rawdst'), 'DB', '1'])
      .then(
        (value) => [null, value],
        (err: Error) => [err.message, null],
      );
    const guarded = await g.call(['COPY', src, dst, 'DB', '1']).then(
      (value) => [null, value],
      (err: Error) => [err.message, null],
    );
    assert.deepEqual(guarded, raw, 'same reply as the raw client (1 standalone, an error in cluster mode)');
    assert.equal(await pttl(dst), -1, 'the unrelated key in the current database keeps no TTL');
    if (!d().cluster) assert.equal(violations[0]?.kind, 'other-db');
  });

  it('keeps the order of commands: a read sent right after a guarded write sees the write (where the raw client keeps order)', async () => {
    const rounds = async (client: Driver['raw'], label: string): Promise<number> => {
      const p = space();
      let overtaken = 0;
      for (let i = 0; i < 50; i++) {
        const key = p('t', `${label}${i}`);
        const [decr, get] = await Promise.all([client.call(['DECR', key]), client.call(['GET', key])]);
        assert.equal(Number(decr), -1);
        if (String(get) !== '-1') overtaken++;
        if (label === 'g') {
          const ttl = await pttl(key);
          assert.ok(ttl > HOUR - 60_000, `round ${i}: PTTL ${ttl} once the guarded DECR has replied`);
        }
      }
      return overtaken;
    };
    const raw = await rounds(d().raw, 'r');
    const guarded = await rounds(d().guarded({ policy: POLICY }), 'g');
    // iovalkey's Cluster itself lets a later command overtake an earlier one on another key's
    // first use; the guard must not add any reordering of its own.
    if (raw === 0) assert.equal(guarded, 0, `a GET overtook the guarded DECR in ${guarded} of 50 rounds`);
    else assert.ok(d().label.startsWith('iovalkey cluster'), `the raw ${d().label} client reordered ${raw} of 50 rounds`);
  });

  it('XADD with a field value spelled NOMKSTREAM creates the stream and gives it its TTL', async () => {
    const g = d().guarded({ policy: POLICY });
    const key = space()('t', 's');
    await g.call(['XADD', key, '*', 'mode', 'NOMKSTREAM']);
    assert.ok((await pttl(key)) > HOUR - 60_000);
    const nomk = space()('t', 's');
    assert.equal(await g.call(['XADD', nomk, 'NOMKSTREAM', '*', 'f', 'v']), null);
    assert.equal(await pttl(nomk), -2);
  });
}
