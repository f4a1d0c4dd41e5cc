/**
 * Policies that would silently do nothing or exhaust the process are refused by name: an
 * empty file, YAML that multiplies through aliases, `.inf` durations, a file of megabytes,
 * more rules than any real policy, a device.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PolicyError } from '../../src/errors.js';
import { loadPolicy, parsePolicy } from '../../src/policy/index.js';

const dir = mkdtempSync(join(tmpdir(), 'keywarden-policy-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function refusal(path: string): Promise<PolicyError> {
  try {
    await loadPolicy(path);
  } catch (err) {
    assert.ok(err instanceof PolicyError, String(err));
    return err;
  }
  throw new Error(`${path} was accepted`);
}

describe('policy limits', () => {
  it('an empty policy file says it has no rules', async () => {
    for (const text of ['', '# nothing yet\n', 'rules: []\n']) {
      const err = await refusal(file('empty.yml', text));
      assert.match(err.message, /has no rules .*would change nothing/);
      assert.match(err.hint, /policy init/);
    }
  });

  it('an alerts-only policy (for watch) is accepted', async () => {
    const p = await loadPolicy(file('alerts.yml', 'alerts:\n  noTtlKeys: 10\n'));
    assert.equal(p.rules.length, 0);
  });

  it('a billion-laughs file names the real reason', async () => {
    let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let prev = 'a';
    for (const n of 'bcdefghi') {
      text += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
      prev = n;
    }
    text += 'rules:\n  - match: "x:*"\n    ttl: 1h\n';
    const err = await refusal(file('laughs.yml', text));
    assert.match(err.message, /aliases expand to too many nodes/);
    assert.doesNotMatch(err.message, /no anchor/);
  });

  it('.inf and .nan durations are refused by name', () => {
    for (const v of ['.inf', '-.inf', '.nan']) {
      assert.throws(
        () => parsePolicy(`rules:\n  - match: "a:*"\n    ttl: ${v}\n`),
        (e: Error) => e.message.includes(`${v} is not a duration`),
      );
    }
  });

  it('a file of megabytes is refused before it is parsed', async () => {
    const err = await refusal(file('huge.yml', `rules:\n${'  - match: "k:*"\n    ttl: 1h\n'.repeat(400_000)}`));
    assert.match(err.message, /MiB: larger than the 1024 KiB keywarden reads/);
  });

  it('more rules than any real policy is refused', async () => {
    const err = await refusal(file('many.yml', `rules:\n${Array.from({ length: 10_001 }, (_, i) => `  - {match: "k${i}:*", ttl: 1h}\n`).join('')}`));
    assert.match(err.message, /10001 rules: more than the 10000/);
  });

  it('a device is not read', async () => {
    const err = await refusal('/dev/urandom');
    assert.match(err.message, /not a regular file/);
  });
});
