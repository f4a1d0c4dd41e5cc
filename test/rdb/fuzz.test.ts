/**
 * Fuzzing the reader with mutated real dumps (written by a redis-server this test starts):
 * flipped bytes, truncations, inserted and duplicated runs. Whatever the bytes, reading ends
 * in a result or in RdbFormatError / RdbVersionError, never another exception or a hang.
 * The checksum is zeroed (disabled) so that mutations reach the decoders instead of stopping
 * at the CRC. Bounded in time for CI.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { RdbFormatError, RdbVersionError } from '../../src/rdb/errors.js';
import { bufferSource } from '../../src/rdb/input.js';
import { readRdb } from '../../src/rdb/reader.js';
import { startRedis } from '../support/redis.js';
import { writeDataset } from './dataset.js';

const TIME_LIMIT_MS = 20_000;

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'repeat'; at: number; len: number };

function mutate(dump: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(dump);
  for (const m of mutations) {
    const at = m.at % Math.max(out.length, 1);
    if (m.kind === 'flip') out[at] = m.byte;
    else if (m.kind === 'cut') out = out.subarray(0, at);
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
    else out = Buffer.concat([out.subarray(0, at + m.len), out.subarray(at, at + m.len), out.subarray(at + m.len)]);
  }
  return out;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      at: fc.nat(),
      byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x3f, 0x40, 0x80, 0x81, 0xc0, 0xc3, 0xfe, 0xff)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }) },
);

test('mutated real dumps end in a result or one format error, never a crash or a hang', async () => {
  const server = await startRedis();
  const client = server.client();
  let dump: Buffer;
  try {
    await writeDataset(client, 3);
    await client.save();
    dump = readFileSync(join(server.dir, 'dump.rdb'));
  } finally {
    client.disconnect();
    await server.stop();
  }
  dump.fill(0, dump.length - 8);
  let runs = 0;
  let refused = 0;
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (mutations, keep) => {
      runs++;
      const bytes = mutate(dump, mutations);
      try {
        readRdb(bufferSource(bytes), { file: 'fuzz.rdb', keep, onKey: () => undefined });
      } catch (err) {
        refused++;
        if (err instanceof RdbFormatError) assert.ok(err.offset >= 0 && err.offset <= bytes.length, `offset ${err.offset} of ${bytes.length}`);
        else if (!(err instanceof RdbVersionError)) throw err;
      }
    }),
    { numRuns: 5000, interruptAfterTimeLimit: TIME_LIMIT_MS, seed: Number(process.env.KEYWARDEN_FUZZ_SEED ?? 17) },
  );
  process.stderr.write(`rdb fuzz: ${runs} mutated dumps, ${refused} refused with an offset\n`);
  assert.ok(runs >= 200, `only ${runs} runs`);
});
