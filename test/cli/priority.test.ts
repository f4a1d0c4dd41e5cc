import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const PRIORITY = fileURLToPath(new URL('../../src/cli/priority.ts', import.meta.url));

/** The niceness this test runs at (CI may start it already niced); `nice -n` adds to it. */
const BASE = getPriority();

/** The niceness a fresh Node process ends with after yieldCpu(fast), started under `nice -n increment`. */
function niceAfter(fast: boolean, increment = 0): number {
  const source = `import { getPriority } from 'node:os'; import { yieldCpu } from ${JSON.stringify(PRIORITY)}; yieldCpu(${fast}); console.log(getPriority());`;
  const r = spawnSync('nice', ['-n', String(increment), process.execPath, '--import', 'tsx', '--input-type=module', '-e', source], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

describe('CPU priority of a guarded run', () => {
  it('drops to nice 10 without --fast, so production processes on the same host go first', () => {
    assert.equal(niceAfter(false), Math.max(10, BASE));
  });
  it('keeps the starting priority with --fast', () => {
    assert.equal(niceAfter(true), BASE);
  });
  it('never raises a priority the user already lowered further', () => {
    assert.equal(niceAfter(false, 15), Math.min(19, BASE + 15));
  });
});
