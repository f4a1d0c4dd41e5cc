/**
 * The memory model against the truth: a real redis-server writes a keyspace covering every
 * type in its small and large encodings, saves it and reloads it from the dump (DEBUG
 * RELOAD); then `MEMORY USAGE key SAMPLES 0` per key is compared with what the reader
 * computes from the dump file. Per pattern (one per type and encoding) within 5%, total
 * within 2%.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { limitsFromConfig } from '../../src/rdb/memory.js';
import { readRdbFile } from '../../src/rdb/reader.js';
import { startRedis } from '../support/redis.js';
import { PATTERNS, writeDataset } from './dataset.js';

test('per-key bytes match MEMORY USAGE SAMPLES 0 after the dump is loaded: every pattern within 5%, total within 2%', async () => {
  const server = await startRedis();
  const client = server.client();
  try {
    await writeDataset(client, 60);
    await client.save();
    await client.call('DEBUG', 'RELOAD');
    const config = (await client.config('GET', '*')) as string[];
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < config.length; i += 2) pairs.push([config[i], config[i + 1]]);

    const model = new Map<string, number>();
    readRdbFile(join(server.dir, 'dump.rdb'), { limits: limitsFromConfig(pairs), onKey: (k) => model.set(k.key.toString(), k.totalBytes) });
    assert.equal(model.size, await client.dbsize());

    const per = new Map<string, { real: number; model: number; keys: number; encodings: Set<string> }>();
    const keys = [...model.keys()];
    for (let i = 0; i < keys.length; i += 500) {
      const batch = keys.slice(i, i + 500);
      const p = client.pipeline();
      for (const k of batch) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0').object('ENCODING', k);
      const replies = (await p.exec()) ?? [];
      batch.forEach((k, j) => {
        const real = Number(replies[2 * j][1]);
        const spec = PATTERNS.find((s) => k.startsWith(s.prefix));
        assert.ok(spec, k);
        const s = per.get(spec.prefix) ?? { real: 0, model: 0, keys: 0, encodings: new Set<string>() };
        s.real += real;
        s.model += model.get(k) ?? 0;
        s.keys++;
        s.encodings.add(String(replies[2 * j + 1][1]));
        per.set(spec.prefix, s);
      });
    }
    let real = 0;
    let modelled = 0;
    const lines: string[] = [];
    for (const spec of PATTERNS) {
      const s = per.get(spec.prefix);
      assert.ok(s, `no keys of ${spec.prefix}`);
      const error = (s.model - s.real) / s.real;
      lines.push(
        `${spec.prefix.padEnd(14)} ${[...s.encodings].join('+').padEnd(10)} keys ${String(s.keys).padStart(4)}  real ${s.real}  model ${s.model}  ${(error * 100).toFixed(2)}%`,
      );
      assert.ok(Math.abs(error) <= 0.05, `${spec.prefix}: ${(error * 100).toFixed(2)}% off (real ${s.real}, model ${s.model})`);
      real += s.real;
      modelled += s.model;
    }
    process.stderr.write(`${lines.join('\n')}\ntotal real ${real} model ${modelled} ${(((modelled - real) / real) * 100).toFixed(3)}%\n`);
    assert.ok(Math.abs(modelled - real) / real <= 0.02, `total ${modelled} vs ${real}`);
  } finally {
    client.disconnect();
    await server.stop();
  }
});
