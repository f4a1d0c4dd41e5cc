/**
 * Process entry: runs the CLI on process.argv and sets the exit code. `bin/keywarden.js`
 * runs the compiled copy of this; tests run it through tsx.
 */
import { main } from './main.js';

// A reader that stops reading (`keywarden scan --json | head`) is not a failure: leave
// quietly, as other command-line tools do, instead of dying of an unhandled EPIPE with a
// stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv);
