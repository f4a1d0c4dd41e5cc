/**
 * A one-shot low-impact run (the registry's `lowImpact: 'one-shot'` commands, without
 * `--fast`) runs V8 on one thread.
 *
 * The command's own work is on Node's main thread, and `yieldCpu` lowers that thread's
 * priority. V8's background threads (compiler, concurrent marking) keep theirs, since Linux
 * niceness is per thread; on a host shared with redis-server they took the server's core for
 * milliseconds at a time, the tail of a concurrent client's latency (bench/README.md, "Where
 * the default mode's p99 came from").
 *
 * V8 reads its flags once, at start, and `NODE_OPTIONS` refuses this one, so the CLI starts
 * itself again with the flag. The first process only waits: it passes signals on and ends the
 * way the second one ends. A daemon (`watch`) is not relaunched: its service definition
 * starts Node with the flag (README), so the supervisor's process is the daemon itself.
 */
import { spawn } from 'node:child_process';
import { commandOf, lowImpactOf } from './registry.js';

const FLAG = '--single-threaded';
/** Set for the second process, so it knows a launcher is waiting on it. */
const LAUNCHED = 'KEYWARDEN_LAUNCHED';
/** Signals someone may send to the process they started; a terminal sends Ctrl-C to both. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** True when this command line is a one-shot low-impact run not yet running single-threaded. */
export function wantsSingleThread(argv: readonly string[], execArgv: readonly string[]): boolean {
  // Under a debugger, the process being debugged must be the one doing the work.
  if (execArgv.includes(FLAG) || execArgv.some((a) => a.startsWith('--inspect'))) return false;
  const command = commandOf(argv);
  return command !== undefined && lowImpactOf(command) === 'one-shot' && !argv.slice(2).includes('--fast');
}

/**
 * Runs this command line again in a single-threaded V8 when it is a one-shot low-impact run.
 * @returns how the second process ended (an exit code, or the signal that ended it), or
 * undefined when this process should run the command itself: not such a run, or the
 * second process could not be started.
 */
export async function relaunchSingleThreaded(
  argv: readonly string[] = process.argv,
  execArgv: readonly string[] = process.execArgv,
): Promise<number | NodeJS.Signals | undefined> {
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
