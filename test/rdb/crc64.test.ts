/**
 * The CRC64 the reader verifies dumps with: the WebAssembly loop (updates of 256 bytes and
 * more) against the JS one (shorter updates), over every alignment, tail length and split.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Crc64, crc64, crcInWebAssembly } from '../../src/rdb/crc64.js';

test('CRC-64/Jones check value, by either loop', () => {
  const data = Buffer.from('123456789');
  assert.equal(crc64(data), 0xe9c6d914c4b8d9can);
  const long = Buffer.concat(Array.from({ length: 40 }, () => data));
  const js = new Crc64();
  js.updateJs(long, 0, long.length);
  assert.equal((BigInt(js.hi) << 32n) | BigInt(js.lo), crc64(long));
});

test('the WebAssembly loop equals the JS loop for every offset, length and split', () => {
  assert.equal(crcInWebAssembly(), true, 'Node >= 20 has WebAssembly: the fast loop must be the one tested');
  const data = randomBytes((3 << 20) + 123);
  for (const length of [255, 256, 257, 263, 1000, 4096 + 5, 65_536, (1 << 20) + 7, (3 << 20) + 100]) {
    for (const offset of [0, 1, 3, 7]) {
      const js = new Crc64();
      js.updateJs(data, offset, offset + length);
      const whole = new Crc64();
      whole.update(data, offset, offset + length);
      assert.deepEqual([whole.hi, whole.lo], [js.hi, js.lo], `length ${length} at ${offset}`);
      // Split in uneven parts: some below the WebAssembly threshold, some above.
      const split = new Crc64();
      for (let at = offset, step = 1; at < offset + length; at += step, step = step * 3 + 1) split.update(data, at, Math.min(at + step, offset + length));
      assert.deepEqual([split.hi, split.lo], [js.hi, js.lo], `split, length ${length} at ${offset}`);
    }
  }
});

test('a flipped bit anywhere changes the checksum', () => {
  const data = randomBytes(10_000);
  const reference = crc64(data);
  for (const at of [0, 1, 255, 256, 5000, 9999]) {
    const bad = Buffer.from(data);
    bad[at] ^= 0x10;
    assert.notEqual(crc64(bad), reference, `bit flipped at ${at}`);
  }
});
