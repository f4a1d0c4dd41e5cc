/**
 * Run the keywarden CLI in-process, as a user would from a shell, and capture what it
 * prints and the exit code it would end with.
 */
import assert from 'node:assert/strict';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, isTTY: false };
  const code = await main(['node', 'keywarden', ...args], io);
  return { code, stdout, stderr };
}

/** A user-facing failure: exactly `keywarden: <message>` and `hint: <hint>`, never a stack trace. */
export function assertOneErrorLine(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at |unexpected error/, stderr);
  assert.match(stderr, /^keywarden: .+\nhint: .+\n$/, `one line and its hint:\n${stderr}`);
}

/** Split a printed command line as a POSIX shell would (bare words and single quotes are all fix prints). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]);
  return words;
}
