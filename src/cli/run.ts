/**
 * Process entry: runs the CLI on process.argv and sets the exit code. `bin/keywarden.js`
 * runs the compiled copy of this; tests run it through tsx.
 */
import { endWithLauncher, relaunchSingleThreaded } from './relaunch.js';
import { signalExitCode } from './signals.js';

// A one-shot low-impact run starts again in a single-threaded V8 (relaunch.ts says why); this process
// then only waits for it. Nothing heavy is loaded before that choice.
const relaunched = await relaunchSingleThreaded();
if (typeof relaunched === 'string') {
  // Ended by a signal: end the same way, so a shell or supervisor sees what happened. As PID 1
  // of a container, where a signal without a handler is ignored, exit with the shell's code.
  process.exitCode = signalExitCode(relaunched);
  process.kill(process.pid, relaunched);
} else if (relaunched !== undefined) {
  process.exitCode = relaunched;
} else {
  endWithLauncher();
  // A reader that stops reading (`keywarden scan --json | head`) is not a failure: leave
  // quietly, as other command-line tools do, instead of dying of an unhandled EPIPE with a
  // stack trace.
  // Any other failure to write the output (`--json > /dev/full`, a closed terminal) is one
  // line and exit 2, like every error a user can cause: the output is lost, and says so.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (stream === process.stdout) {
        const reason = err.code === 'ENOSPC' ? 'no space left on the device' : (err.code ?? 'write failed');
        try {
          process.stderr.write(
            `keywarden: cannot write to standard output: ${reason}\nhint: redirect the output to a file on a disk with free space, or to a pipe\n`,
          );
        } catch {
          // stderr is gone too: the exit code is all that is left.
        }
      }
      process.exit(2);
    });
  }
  const { main } = await import('./main.js');
  process.exitCode = await main(process.argv);
}
