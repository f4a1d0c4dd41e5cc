// Runs `keywarden watch` alone in a child process, for the signal and CLI tests.
import { Command } from 'commander';
import { registerWatch } from '../../src/cli/commands/watch.js';
import { processIo } from '../../src/cli/io.js';
import { exitCodeOf } from '../../src/cli/runner.js';

const program = new Command('keywarden').exitOverride();
registerWatch(program, processIo);
program
  .parseAsync(process.argv)
  .then(() => {
    process.exitCode = exitCodeOf(program);
  })
  .catch(() => {
    process.exitCode = 2;
  });
