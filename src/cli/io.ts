/** Where a command writes: the process's streams for the real CLI; tests pass their own. */
import { yieldCpu } from './priority.js';

/** Where a command writes; tests pass their own to capture output. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** True when stderr is a terminal (progress bars only then). */
  isTTY: boolean;
  /**
   * Lower this process's CPU priority unless `fast` (priority.ts). main calls it for the
   * commands the registry declares low-impact; tests that run commands inside their own
   * process leave it out.
   */
  yieldCpu?(fast: boolean | undefined): void;
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  isTTY: process.stderr.isTTY === true,
  yieldCpu,
};
