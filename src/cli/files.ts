/**
 * Files the CLI writes on the user's behalf (`--out`), and the one-line reasons for the ways
 * a file operation fails. An output path is tried before the work starts (a scan of an hour
 * must not end in "no such directory"), and a report is written to a temporary file next to
 * it and renamed into place, so a full disk or a killed run never leaves an empty or cut-off
 * report behind.
 */
import { closeSync, openSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { displayKey } from '../display.js';

/** errno code → what it means for the user, in words. */
const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EEXIST: 'it already exists',
  ETXTBSY: 'the file is busy',
};

/** True for a Node file-system error (an errno code and a syscall). */
export function isFileError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | undefined;
  return typeof e?.code === 'string' && typeof e.syscall === 'string' && e.code in REASONS;
}

/** A file-system error as one line naming the file and what to do; `what` is e.g. 'write --out file'. */
export function fileFailure(
  err: NodeJS.ErrnoException,
  what: string,
  path: string,
  hint = 'give a path in an existing directory you may write to',
): UsageError {
  const reason = REASONS[err.code ?? ''] ?? err.code ?? 'failed';
  return new UsageError(`cannot ${what} '${displayKey(path)}': ${reason}`, hint, { cause: err });
}

/**
 * Check before any work that `path` can be written: its directory exists and takes a new
 * file (tried by creating and removing an empty one, the only test that holds under /proc,
 * read-only mounts and ACLs), and the path is not a directory.
 */
export function checkOutputPath(path: string, flag: string): void {
  const fail = (err: NodeJS.ErrnoException) => fileFailure(err, `write ${flag} file`, path);
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fail(err as NodeJS.ErrnoException);
  }
  if (existing?.isDirectory()) throw fail(Object.assign(new Error('EISDIR'), { code: 'EISDIR', syscall: 'open' }));
  if (existing && !existing.isFile()) return; // a device or a pipe (/dev/stdout): written in place
  const probe = tempName(path);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
    unlinkSync(probe);
  } catch (err) {
    throw fail(err as NodeJS.ErrnoException);
  }
}

/**
 * Write `text` to `path` whole or not at all: through a temporary file in the same directory,
 * renamed over the target. Devices and pipes are written in place (renaming over /dev/full
 * would replace the device).
 */
export function writeOutputFile(path: string, text: string, flag: string): void {
  const fail = (err: NodeJS.ErrnoException) => fileFailure(err, `write ${flag} file`, path);
  let special = false;
  try {
    special = !statSync(path).isFile();
  } catch {
    // Not there yet: a new regular file.
  }
  if (special) {
    try {
      writeFileSync(path, text);
    } catch (err) {
      throw fail(err as NodeJS.ErrnoException);
    }
    return;
  }
  const temp = tempName(path);
  try {
    const fd = openSync(temp, 'wx', 0o644);
    try {
      writeFileSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // Never created, or already renamed.
    }
    throw fail(err as NodeJS.ErrnoException);
  }
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.keywarden-${process.pid}.tmp`);
}
