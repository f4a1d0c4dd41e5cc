/**
 * Process entry: runs the CLI on process.argv and sets the exit code. `bin/keywarden.js`
 * runs the compiled copy of this; tests run it through tsx.
 */
import { endWithLauncher, relaunchSingleThreaded, signalExitCode } from './relaunch.js';

// A guarded run starts again in a single-threaded V8 (relaunch.ts says why); this process
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
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  const { main } = await import('./main.js');
  process.exitCode = await main(process.argv);
}
