/**
 * Errors specific to fix and undo; each is one line and a hint (exit code 2 in the CLI).
 */
import { KeywardenError } from '../errors.js';

/** The run stopped because a node went away (restart, failover, network). */
export class FixInterruptedError extends KeywardenError {}

/** The server cannot do what fix needs (EXPIRE … NX needs Redis 7.0). */
export class UnsupportedServerError extends KeywardenError {}

export { JournalError } from './journal.js';
