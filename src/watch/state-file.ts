/**
 * The state file: written atomically (temp file + rename) so a crash mid-write leaves the
 * previous checkpoint intact, and read back at start so a restart continues where it stopped.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { WatchLogger } from './log.js';
import { emptyPersisted, type PersistedState } from './state.js';

/** Load the state for `target`; a missing, unreadable or foreign file starts fresh (and says why). */
export async function loadState(path: string, target: string, log: WatchLogger): Promise<PersistedState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('cannot read the state file; starting fresh', { path, error: (err as Error).message });
    return emptyPersisted(target);
  }
  try {
    const data = JSON.parse(text) as PersistedState;
    if (data.kind !== 'keywarden.watch-state' || data.version !== 1) throw new Error('not a keywarden watch state file');
    if (data.target !== target) {
      log.warn('the state file belongs to another target; starting fresh', { path, stateTarget: data.target });
      return emptyPersisted(target);
    }
    return { ...emptyPersisted(target), ...data };
  } catch (err) {
    log.warn('the state file is damaged; starting fresh', { path, error: (err as Error).message });
    return emptyPersisted(target);
  }
}

/** Serialize now (the scan keeps mutating the state), write later with `writeStateText`. */
export function serializeState(state: PersistedState): string {
  state.savedAt = Date.now();
  return JSON.stringify(state);
}

/** Write serialized state atomically: temp file, then rename over the old one. */
export async function writeStateText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}
