/**
 * The command runner: runs a command body and turns its outcome into an exit code, which it
 * returns. A user mistake becomes one line and exit 2 (or a `keywarden.error` JSON document
 * with --json) instead of a stack trace. Nothing here sets `process.exitCode`: main returns
 * the code and the process entry (run.ts) sets it once.
 */
import type { Command } from 'commander';
import { ConnectionError, isUserFacing, KeywardenError } from '../errors.js';
import { displayKey, displayPattern } from '../display.js';
import { midRunFailure } from '../target/errors.js';
import { redactUrlsInText } from '../target/url.js';
import { fileFailure, isFileError } from './files.js';
import type { CliIo } from './io.js';

/**
 * Run a command body and map failures to exit codes: user-facing errors print one line
 * (`keywarden: <message>` then `hint: <hint>`) or a JSON error document, exit 2; anything
 * else is a bug and keeps its stack (with credentials scrubbed) for the report.
 */
export async function runCommand(io: CliIo, json: boolean, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (caught) {
    // The commands name the node when the server fails them mid-run; this catches the rest.
    const err = midRunFailure(caught, 'the server') ?? fileOrServerFailure(caught) ?? caught;
    if (isUserFacing(err)) {
      if (json)
        io.stdout(
          `${JSON.stringify({ kind: 'keywarden.error', message: err.message, hint: err.hint, ...(err.partial !== undefined ? { partial: err.partial } : {}) })}\n`,
        );
      // Messages may quote the server, and the server may quote a key: escaped for the terminal.
      else io.stderr(`keywarden: ${displayPattern(err.message)}\nhint: ${displayPattern(err.hint)}\n`);
      return err.exitCode;
    }
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    io.stderr(`keywarden: unexpected error (please report it):\n${redactUrlsInText(text)}\n`);
    return 70;
  }
}

/**
 * The failures a user or a server causes that no command caught by name: a file the
 * command could not write (one line naming it), and an error reply from the server (one
 * line quoting it, escaped: it may quote a key). Anything else is a bug: undefined.
 */
function fileOrServerFailure(err: unknown): KeywardenError | undefined {
  if (isFileError(err))
    return fileFailure(
      err,
      /read|scandir|stat/.test(err.syscall ?? '') ? 'read' : 'use',
      err.path ?? 'a file',
      'check the path, its permissions and the free space of its disk',
    );
  const e = err as { name?: string; message?: string } | undefined;
  if ((e?.name === 'ReplyError' || e?.name === 'ErrorReply' || e?.name === 'SimpleError') && typeof e.message === 'string') {
    const first = e.message.split('\n')[0].slice(0, 300);
    return new ConnectionError(
      `the server refused a command: ${displayKey(first)}`,
      'if the server is healthy and this user has the rights keywarden needs (README: permissions), please report it',
      { cause: err },
    );
  }
  return undefined;
}

/** Exit codes of finished commands, kept on the program that parsed them (commander ignores what an action returns). */
const exitCodes = new WeakMap<Command, number>();

function root(command: Command): Command {
  let c = command;
  while (c.parent) c = c.parent;
  return c;
}

/**
 * Record the exit code of the command an action ran (the action's last argument); the
 * program that parsed it returns it from {@link exitCodeOf}.
 */
export function finishWith(command: Command, code: number): void {
  exitCodes.set(root(command), code);
}

/** The exit code the last command parsed by `program` finished with; 0 when none was recorded. */
export function exitCodeOf(program: Command): number {
  return exitCodes.get(root(program)) ?? 0;
}
