/**
 * The `keywarden` entry point: a registry of commands, each in its own file and loaded only
 * when used (so `keywarden scan` does not load the dashboard or Prometheus code).
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { processIo, type CliIo } from './flags.js';

type Register = (program: Command, io: CliIo) => void;

/** name → lazy loader of the module that registers it. One line per command. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  scan: async () => (await import('./commands/scan.js')).registerScan,
  demo: async () => (await import('./commands/demo.js')).registerDemo,
  doctor: async () => (await import('./commands/doctor.js')).registerDoctor as Register,
  fix: async () => (await import('./commands/fix.js')).registerFix,
  undo: async () => (await import('./commands/undo.js')).registerUndo,
  policy: async () => (await import('./commands/policy.js')).registerPolicy,
  watch: async () => (await import('./commands/watch.js')).registerWatch,
  lint: async () => (await import('./commands/lint.js')).registerLint,
  rdb: async () => (await import('./commands/rdb.js')).registerRdb,
  report: async () => (await import('./commands/report.js')).registerReport,
};

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** Run the CLI with `argv` (as process.argv); resolves to the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const program = new Command('keywarden')
    .description('Find, fix and prevent Redis memory leaks.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .exitOverride();

  const wanted = argv.slice(2).find((a) => !a.startsWith('-'));
  const names = wanted && COMMANDS[wanted] ? [wanted] : Object.keys(COMMANDS);
  for (const name of names) {
    const register = await COMMANDS[name]();
    register(program, io);
  }
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });

  process.exitCode = undefined;
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; every other parse failure is a usage error.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
