/**
 * The command registry: one entry per command, each loaded only when used (so `keywarden scan`
 * does not load the dashboard or Prometheus code), with how it runs. Nothing heavy is imported
 * here: the process entry (run.ts) reads it before any command is loaded.
 */
import type { Command } from 'commander';
import type { CliIo } from './io.js';

export type Register = (program: Command, io: CliIo) => void;

/**
 * How a command keeps out of the way of the servers and applications on its host when run
 * without `--fast` (README: Low CPU priority):
 * - `one-shot`: nice 10 (priority.ts), and a single-threaded V8 by starting itself again
 *   (relaunch.ts): bench:scan measured a concurrent client's p99 fall with it.
 * - `daemon`: nice 10 only. A wrapper process in front of a daemon would stand between it
 *   and its supervisor (signals, health, restarts); the service definition starts Node with
 *   `--single-threaded` itself (README: keywarden watch).
 */
export type LowImpact = 'one-shot' | 'daemon';

export interface CommandEntry {
  load(): Promise<Register>;
  lowImpact?: LowImpact;
}

/** name → the command. One line per command. */
export const COMMANDS = {
  scan: { load: async () => (await import('./commands/scan.js')).registerScan, lowImpact: 'one-shot' },
  demo: { load: async () => (await import('./commands/demo.js')).registerDemo },
  doctor: { load: async () => (await import('./commands/doctor.js')).registerDoctor as Register },
  fix: { load: async () => (await import('./commands/fix.js')).registerFix, lowImpact: 'one-shot' },
  undo: { load: async () => (await import('./commands/undo.js')).registerUndo, lowImpact: 'one-shot' },
  policy: { load: async () => (await import('./commands/policy.js')).registerPolicy },
  watch: { load: async () => (await import('./commands/watch.js')).registerWatch, lowImpact: 'daemon' },
  lint: { load: async () => (await import('./commands/lint.js')).registerLint },
  rdb: { load: async () => (await import('./commands/rdb.js')).registerRdb },
  report: { load: async () => (await import('./commands/report.js')).registerReport },
} as const satisfies Record<string, CommandEntry>;

export type CommandName = keyof typeof COMMANDS;

/** The registered command a command line names (its first word that is not a flag), if any. */
export function commandOf(argv: readonly string[]): CommandName | undefined {
  const word = argv.slice(2).find((a) => !a.startsWith('-'));
  return word !== undefined && Object.hasOwn(COMMANDS, word) ? (word as CommandName) : undefined;
}

/** How the command runs without `--fast`; undefined for the commands that run as they are. */
export function lowImpactOf(name: string): LowImpact | undefined {
  return Object.hasOwn(COMMANDS, name) ? (COMMANDS[name as CommandName] as CommandEntry).lowImpact : undefined;
}
