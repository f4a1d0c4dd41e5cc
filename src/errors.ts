/**
 * Errors a user can act on. Each carries a one-line message saying what is wrong and a hint
 * naming the flag or setting to change. The CLI prints `message` and `hint` (never a stack)
 * and exits with code 2; `--json` turns them into `{ kind: "keywarden.error", message, hint }`.
 *
 * Messages must never contain credentials: build them from redacted target descriptions.
 */
export class KeywardenError extends Error {
  readonly hint: string;
  readonly exitCode: number = 2;
  /**
   * What the command gathered before it failed (a scan's partial report), when that is worth
   * keeping: the CLI prints it before the error line, and `--json` adds it to the error
   * document as `partial`.
   */
  partial?: unknown;

  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** Bad flags or arguments. */
export class UsageError extends KeywardenError {}

/** Could not reach, authenticate to, or speak with the Redis target. */
export class ConnectionError extends KeywardenError {}

/** The server refused a command this user is not allowed to run (ACL NOPERM). */
export class PermissionError extends KeywardenError {}

/** A policy file that cannot be read or does not validate; the message names file, line and field. */
export class PolicyError extends KeywardenError {}

/** True for errors the CLI reports as one line with exit code 2. */
export function isUserFacing(err: unknown): err is KeywardenError {
  return err instanceof KeywardenError;
}
