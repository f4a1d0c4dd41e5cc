/**
 * Conformance: every dump in ../shared/rdb-conformance (written by Redis 2.x–7.4 and Valkey 9,
 * from HDT3213/rdb's and valkey's test suites) is read, and its keys, types, expiries,
 * element counts and values are checked against the expected JSON where there is one. The
 * two deliberately corrupt files must be refused with the byte offset.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RdbFormatError } from '../../src/rdb/errors.js';
import { readRdbFile, type RdbKey } from '../../src/rdb/reader.js';
import type { HashField } from '../../src/rdb/values.js';

const ROOT = join(import.meta.dirname, '../../../shared/rdb-conformance');
const CORRUPT: Record<string, number> = { 'corrupt_empty_keys.rdb': -1, 'corrupt_ziplist.rdb': -1 };

interface Expected {
  db: number;
  key: string;
  type: string;
  encoding?: string;
  expiration?: string;
  expire?: Record<string, number>;
  value?: string;
  values?: string[];
  members?: string[];
  entries?: Array<{ member: string; score: number }> | unknown[];
  hash?: Record<string, string>;
  len?: number;
  lastId?: string;
  groups?: Array<{ name: string; pending?: unknown[]; consumers?: unknown[] }>;
  functionsLua?: string;
}

function dumps(): string[] {
  const out: string[] = [];
  for (const dir of ['hdt3213-cases', 'valkey-assets']) {
    for (const name of readdirSync(join(ROOT, dir)).sort()) {
      const path = join(ROOT, dir, name);
      if (name.endsWith('.rdb') || (name.endsWith('.aof') && readFileSync(path).subarray(0, 5).toString() === 'REDIS')) out.push(path);
    }
  }
  return out;
}

const text = (b: Buffer) => b.toString('utf8');

function checkKey(file: string, got: RdbKey, want: Expected): void {
  const where = `${file} ${want.key}`;
  assert.equal(got.db, want.db, `${where}: db`);
  assert.equal(got.type, want.type, `${where}: type`);
  const expiry = want.expiration ? Date.parse(want.expiration) : -1;
  assert.equal(got.expireAtMs, expiry, `${where}: expiry`);
  const content = got.content;
  switch (want.type) {
    case 'string':
      assert.equal(text(content as Buffer), want.value, `${where}: value`);
      assert.equal(got.length, (content as Buffer).length, `${where}: length`);
      break;
    case 'list':
      assert.deepEqual((content as Buffer[]).map(text), want.values, `${where}: values`);
      assert.equal(got.length, want.values?.length, `${where}: length`);
      break;
    case 'set':
      assert.deepEqual((content as Buffer[]).map(text).sort(), [...(want.members ?? [])].sort(), `${where}: members`);
      assert.equal(got.length, want.members?.length, `${where}: length`);
      break;
    case 'zset': {
      const entries = want.entries as Array<{ member: string; score: number }>;
      const mine = (content as Array<[Buffer, number]>).map(([m, s]) => ({ member: text(m), score: s }));
      const order = (a: { member: string }, b: { member: string }) => (a.member < b.member ? -1 : 1);
      assert.deepEqual(mine.sort(order), [...entries].sort(order), `${where}: entries`);
      assert.equal(got.length, entries.length, `${where}: length`);
      break;
    }
    case 'hash': {
      const fields = content as HashField[];
      assert.deepEqual(Object.fromEntries(fields.map(([f, v]) => [text(f), text(v)])), want.hash, `${where}: hash`);
      assert.equal(got.length, Object.keys(want.hash ?? {}).length, `${where}: length`);
      if (want.expire) {
        assert.deepEqual(Object.fromEntries(fields.map(([f, , e]) => [text(f), e])), want.expire, `${where}: field expiry`);
        const volatile = Object.values(want.expire).filter((e) => e > 0);
        assert.deepEqual(got.fieldExpiry, { volatile: volatile.length, lastExpireAtMs: Math.max(...volatile) }, `${where}: field expiry summary`);
      }
      break;
    }
    case 'stream': {
      const s = content as { length: number; lastId: string; groups: Array<{ name: string; pending: number; consumers: number }> };
      if (want.len !== undefined) assert.equal(s.length, want.len, `${where}: stream length`);
      if (want.lastId !== undefined) assert.equal(s.lastId, want.lastId, `${where}: last id`);
      assert.deepEqual(
        s.groups,
        (want.groups ?? []).map((g) => ({ name: g.name, pending: g.pending?.length ?? 0, consumers: g.consumers?.length ?? 0 })),
        `${where}: groups`,
      );
      break;
    }
    default:
      assert.fail(`${where}: unexpected type ${want.type}`);
  }
}

const passed: string[] = [];
const all = dumps();

for (const path of all) {
  const name = path.slice(ROOT.length + 1);
  const base = path.split('/').pop() as string;
  test(`conformance: ${name}`, () => {
    if (base in CORRUPT) {
      assert.throws(
        () => readRdbFile(path, { onKey: () => undefined }),
        (err: unknown) => err instanceof RdbFormatError && err.offset > 9 && /at byte \d+$/.test(err.message),
      );
      passed.push(name);
      return;
    }
    const keys: RdbKey[] = [];
    const summary = readRdbFile(path, { keep: true, onKey: (k) => keys.push(k) });
    assert.equal(summary.keys, keys.length);
    const jsonPath = path.replace(/\.rdb$/, '.json');
    if (path.endsWith('.rdb') && existsSync(jsonPath)) {
      const expected = (JSON.parse(readFileSync(jsonPath, 'utf8')) as Expected[]).filter((e) => e.type !== 'aux' && e.type !== 'functions');
      const byKey = new Map(keys.map((k) => [`${k.db}/${text(k.key)}`, k]));
      assert.equal(keys.length, expected.length, `${name}: key count`);
      for (const want of expected) {
        const got = byKey.get(`${want.db}/${want.key}`);
        assert.ok(got, `${name}: key ${want.key} missing`);
        checkKey(name, got, want);
      }
      const functions = (JSON.parse(readFileSync(jsonPath, 'utf8')) as Expected[]).filter((e) => e.type === 'functions').length;
      assert.equal(summary.functions, functions, `${name}: functions`);
    } else {
      // No expected JSON: the file must still be read whole, checksum and all.
      assert.ok(summary.checksum !== 'absent' || summary.version < 5, `${name}: checksum`);
    }
    passed.push(name);
  });
}

test('conformance: count', () => {
  process.stderr.write(`rdb conformance: ${passed.length} of ${all.length} files pass\n`);
  assert.equal(passed.length, all.length);
});
