/**
 * Signal handling for the long-running commands: the first signal stops the work gracefully,
 * a later one quits at once, as the signal's default action would.
 */
import { constants } from 'node:os';
import type { CliIo } from './io.js';

/**
 * One Ctrl-C on a terminal reaches every process of the foreground group; a supervisor that
 * signals the whole process group (systemd's default) does the same with SIGTERM. With the
 * single-threaded relaunch (relaunch.ts) the launcher also passes its copy on, so the run sees
 * the signal twice within moments. Handlers that count signals treat repeats closer than this
 * as one.
 */
export const REPEATED_SIGNAL_MS = 300;

/** The exit code a shell reports for a process ended by `signal`: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Signals that stop a long-running command. The first calls `onFirst` (the command stops
 * gracefully and prints or saves what it has); a later one quits at once with 128+n, as the
 * signal's default action would. A copy of the first within REPEATED_SIGNAL_MS is not a later
 * one. Call `dispose` when done.
 */
export function stopOnSignals(signals: readonly NodeJS.Signals[], onFirst: (signal: NodeJS.Signals) => void): { dispose(): void } {
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (firstAt === undefined) {
      firstAt = now;
      onFirst(signal);
    } else if (now - firstAt >= REPEATED_SIGNAL_MS) {
      process.exit(signalExitCode(signal));
    }
  };
  for (const s of signals) process.on(s, onSignal);
  return { dispose: () => signals.forEach((s) => process.off(s, onSignal)) };
}

/**
 * Ctrl-C for long-running commands: the first stops the work gracefully (the command then
 * prints what it has), a second quits at once with 130.
 */
export function interruptOnSigint(io: CliIo, message: string): { signal: AbortSignal; dispose(): void } {
  const stop = new AbortController();
  const { dispose } = stopOnSignals(['SIGINT'], () => {
    io.stderr(`\nkeywarden: ${message} (Ctrl-C again to quit at once)\n`);
    stop.abort();
  });
  return { signal: stop.signal, dispose };
}
