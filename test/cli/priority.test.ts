import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const FLAGS = fileURLToPath(new URL('../../src/cli/flags.ts', import.meta.url));

/** The niceness a fresh Node process ends with after yieldCpu(fast), started under `nice -n start`. */
function niceAfter(fast: boolean, start = 0): number {
  const source = `import { getPriority } from 'node:os'; import { yieldCpu } from ${JSON.stringify(FLAGS)}; yieldCpu(${fast}); console.log(getPriority());`;
  const r = spawnSync('nice', ['-n', String(start), process.execPath, '--import', 'tsx', '--input-type=module', '-e', source], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

describe('CPU priority of a guarded run', () => {
  it('drops to nice 10 without --fast, so production processes on the same host go first', () => {
    assert.equal(niceAfter(false), 10);
  });
  it('keeps the starting priority with --fast', () => {
    assert.equal(niceAfter(true), 0);
  });
  it('never raises a priority the user already lowered further', () => {
    assert.equal(niceAfter(false, 15), 15);
  });
});
