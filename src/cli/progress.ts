/**
 * The progress bar of long-running commands (scan, fix, undo): on stderr, only on a terminal
 * (the caller decides), driven by a ratio the command reports: the cursor position of the
 * scanner (scan, fix), so it is exact even while keys churn, or the journaled keys decided
 * (undo).
 */
import { createRequire } from 'node:module';

/** Loaded when a bar is first drawn (on a terminal only), not on every start. */
const cliProgress = (): typeof import('cli-progress') => createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');

export interface ProgressBar<P> {
  update(progress: P): void;
  stop(): void;
}

/** A bar whose `{name}` tokens in `format` are filled from `values(progress)`. */
export function progressBar<P extends { ratio: number }>(format: string, values: (progress: P) => Record<string, string>): ProgressBar<P> {
  const { SingleBar, Presets } = cliProgress();
  const bar = new SingleBar({ stream: process.stderr, format, hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
  let started = false;
  return {
    update(progress) {
      if (!started) {
        bar.start(1000, 0, values(progress));
        started = true;
      }
      bar.update(Math.round(progress.ratio * 1000), values(progress));
    },
    stop() {
      // Idempotent: a command may clear the bar early (to print a partial report) and again on its way out.
      if (started) bar.stop();
      started = false;
    },
  };
}
