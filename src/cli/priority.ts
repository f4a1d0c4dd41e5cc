/**
 * The CPU priority of a low-impact run: the commands the registry (registry.ts) declares
 * low-impact work at nice 10 without `--fast`.
 */
import { getPriority, setPriority } from 'node:os';

/** The niceness a low-impact run works at (0 is normal, 19 the lowest priority). */
export const BACKGROUND_NICE = 10;

/**
 * Without `--fast`, lower this process's CPU priority to nice 10 (a niceness the user already raised further is
 * kept). An SRE often runs keywarden on the Redis host itself or on an application server:
 * there it gives way to redis-server and the application whenever they compete for a core,
 * instead of adding its own scheduling delay to their requests (bench/README.md has the
 * measurements). Linux applies it to the main thread, where all of the scanning work runs;
 * V8's own background threads keep their priority, which is why the one-shot low-impact
 * commands run without them (relaunch.ts). `--fast` keeps the priority keywarden was started
 * with.
 */
export function yieldCpu(fast: boolean | undefined): void {
  if (fast) return;
  try {
    if (getPriority() < BACKGROUND_NICE) setPriority(BACKGROUND_NICE);
  } catch {
    // Not permitted here (some sandboxes): run at the current priority.
  }
}
