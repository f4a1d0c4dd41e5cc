import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scanKeyspace } from '../../src/keyspace/scan.js';
import { connectTarget } from '../../src/target/connect.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startTlsRedis, type TlsRedis } from '../support/tls.js';
import { get, series, watch } from '../watch/support.js';

describe('rediss:// targets against a real TLS listener', () => {
  let tls: TlsRedis;
  before(async () => {
    tls = await startTlsRedis();
    const c = tls.server.client();
    await c.set('session:1', 'v');
    c.disconnect();
  });
  after(() => tls.stop());

  it('scans over TLS with --cacert', async () => {
    const target = await connectTarget(resolveTarget({ url: `rediss://localhost:${tls.tlsPort}`, cacert: tls.caFile }, {}));
    try {
      const report = await scanKeyspace(target);
      assert.equal(report.totals.keys, 1);
      assert.match(report.target.url, /^rediss:\/\//);
    } finally {
      await target.close();
    }
  });

  it('--insecure skips verification; without it an unknown CA is refused with a TLS message', async () => {
    const insecure = await connectTarget(resolveTarget({ url: `rediss://127.0.0.1:${tls.tlsPort}`, insecure: true }, {}));
    await insecure.close();
    await assert.rejects(
      connectTarget(resolveTarget({ url: `rediss://localhost:${tls.tlsPort}`, connectTimeoutMs: 2000 }, {})),
      /TLS handshake .* failed|certificate/,
    );
  });

  it('watch reads a rediss:// target: passes complete and /metrics reports it up, its keys and no credentials', async () => {
    const w = await watch(`rediss://localhost:${tls.tlsPort}`, {
      target: resolveTarget({ url: `rediss://default:tls-secret@localhost:${tls.tlsPort}`, cacert: tls.caFile }, {}),
    });
    try {
      await w.nextPass();
      const body = (await get(`${w.url}/metrics`)).body;
      assert.deepEqual(
        series(body, 'keywarden_up').map((s) => s.value),
        [1],
      );
      assert.deepEqual(
        series(body, 'keywarden_pattern_keys').map((s) => s.value),
        [1],
      );
      assert.ok(!body.includes('tls-secret') && !w.logs.join('').includes('tls-secret'));
    } finally {
      await w.stop();
    }
  });

  it('a plain redis:// client on the TLS port is told to use rediss://', async () => {
    await assert.rejects(
      connectTarget(resolveTarget({ url: `redis://127.0.0.1:${tls.tlsPort}`, connectTimeoutMs: 1500 }, {})),
      (err: Error & { hint?: string }) => /rediss:\/\//.test(`${err.message} ${err.hint}`),
    );
  });
});
