/**
 * A guarded run (scan, fix, undo or watch without `--fast`) runs V8 on one thread.
 *
 * The command's own work is on Node's main thread, and `yieldCpu` lowers that thread's priority.
 * V8 has background threads too. It compiles hot functions and marks the heap on them, and
 * Linux niceness is per thread, so they stay at normal priority. On a host the scan shares
 * with redis-server, they took the server's core for 1–4 ms at a time (`perf sched`: they
 * caused most of redis-server's scheduling delays over 0.3 ms). That was the tail of a
 * concurrent client's latency. On bench:scan's two cores, `--single-threaded` took that client's
 * p99 from 1.5–1.9 ms to 0.7–1.1 ms in the same rounds, at the same scan time (bench/README.md).
 * This covers an SRE running keywarden on the Redis box itself. fix, undo and watch
 * walk the keyspace the same way, in the same small paced calls, so they run the same way.
 *
 * V8 reads its flags once, at start (changing them later crashes it), so the CLI starts
 * itself again with the flag. The first process only waits: it passes signals on and ends the
 * way the second one ends. `--fast` (no latency guard) and the other commands run as they
 * are.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const FLAG = '--single-threaded';
/** Set for the second process, so it knows a launcher is waiting on it. */
const LAUNCHED = 'KEYWARDEN_LAUNCHED';
/** Signals someone may send to the process they started; a terminal sends Ctrl-C to both. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The commands that lower their priority without `--fast` (`yieldCpu`): the guarded runs. */
const GUARDED = new Set(['scan', 'fix', 'undo', 'watch']);

/** True when this command line is a guarded run not yet running single-threaded. */
export function wantsSingleThread(argv: readonly string[], execArgv: readonly string[]): boolean {
  // Under a debugger, the process being debugged must be the one doing the work.
  if (execArgv.includes(FLAG) || execArgv.some((a) => a.startsWith('--inspect'))) return false;
  const args = argv.slice(2);
  const command = args.find((a) => !a.startsWith('-'));
  return command !== undefined && GUARDED.has(command) && !args.includes('--fast');
}

/**
 * Runs this command line again in a single-threaded V8 when it is a guarded run.
 * @returns how the second process ended (an exit code, or the signal that ended it), or
 * undefined when this process should run the command itself: not a guarded run, or the
 * second process could not be started.
 */
export async function relaunchSingleThreaded(argv: readonly string[] = process.argv, execArgv: readonly string[] = process.execArgv): Promise<number | NodeJS.Signals | undefined> {
  if (!wantsSingleThread(argv, execArgv)) return undefined;
  // The IPC channel is how the second process learns that this one is gone (kill -9): it
  // closes with the process.
  const child = spawn(process.execPath, [FLAG, ...execArgv, argv[1], ...argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [LAUNCHED]: '1' },
  });
  const started = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!started) return undefined;
  const forward = (signal: NodeJS.Signals) => {
    try {
      child.kill(signal);
    } catch {
      // Already gone, or a platform without this signal.
    }
  };
  for (const s of FORWARDED) process.on(s, forward);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  for (const s of FORWARDED) process.off(s, forward);
  child.disconnect?.();
  return signal ?? code ?? 1;
}

/**
 * In the second process: end when the first one is gone, as a kill -9 of the command the user
 * started means. Without this a scan would go on unseen, and a fix would go on writing TTLs
 * after the operator killed it.
 */
export function endWithLauncher(): void {
  if (process.env[LAUNCHED] !== '1') return;
  delete process.env[LAUNCHED];
  // Gone already, while this process was still loading: the channel closed before anyone listened.
  if (!process.connected) process.exit(1);
  process.channel?.unref();
  process.once('disconnect', () => process.exit(1));
}

/**
 * One Ctrl-C on a terminal reaches both processes, and the first passes its copy on; a
 * supervisor that signals the whole process group (systemd's default) does the same with
 * SIGTERM. The second process sees the signal twice within moments. Handlers that count
 * signals treat repeats closer than this as one.
 */
export const REPEATED_SIGNAL_MS = 300;

/** The exit code a shell reports for a process ended by `signal`: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
