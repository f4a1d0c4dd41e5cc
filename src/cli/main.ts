/**
 * The `keywarden` entry point: commander wiring over the command registry (registry.ts).
 * Returns the exit code; the process entry (run.ts) sets it.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { processIo, type CliIo } from './io.js';
import { COMMANDS, commandOf, lowImpactOf, type CommandName } from './registry.js';
import { exitCodeOf } from './runner.js';

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

  const wanted = commandOf(argv);
  const names = wanted ? [wanted] : (Object.keys(COMMANDS) as CommandName[]);
  for (const name of names) {
    const register = await COMMANDS[name].load();
    register(program, io);
  }
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  // The registry's low-impact commands give way on the CPU unless --fast: declared once there.
  program.hook('preAction', (_program, action) => {
    let command = action;
    while (command.parent && command.parent !== program) command = command.parent;
    if (lowImpactOf(command.name()) !== undefined) io.yieldCpu?.((action.opts() as { fast?: boolean }).fast);
  });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; every other parse failure is a usage error.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    throw err;
  }
  return exitCodeOf(program);
}
