/**
 * How a printed hint should invoke the CLI so it runs when pasted: `keywarden` when a
 * `keywarden` executable is on the PATH (a global install, `npm link`), else `npx keywarden`
 * (a clone, or a project that installed it locally).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function cliInvocation(env: NodeJS.ProcessEnv): string {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'keywarden'), constants.X_OK);
      return 'keywarden';
    } catch {
      // not in this directory
    }
  }
  return 'npx keywarden';
}

/** One argument for a POSIX shell, so a printed command pastes as is: bare when it holds nothing the shell reads, else single-quoted. */
export function shellArg(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
