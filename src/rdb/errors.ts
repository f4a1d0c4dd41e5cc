/**
 * Why a dump could not be read. Every failure names the byte offset where reading stopped,
 * so a user can compare it with `redis-check-rdb` or cut the file there.
 */
import { KeywardenError } from '../errors.js';

/** The file is truncated, corrupt or crafted: reading stopped at `offset`. */
export class RdbFormatError extends KeywardenError {
  constructor(
    readonly file: string,
    readonly offset: number,
    what: string,
  ) {
    super(`${file}: ${what} at byte ${offset}`, 'the dump is truncated or corrupt: check it with redis-check-rdb, or take a fresh one (BGSAVE)');
  }
}

/** A header this reader does not know (a newer RDB, or not an RDB at all). */
export class RdbVersionError extends KeywardenError {
  constructor(file: string, header: string) {
    super(
      `${file}: not a dump this keywarden reads: ${header} (it reads REDIS0001 to REDIS0012, VALKEY080 and AOFs with an RDB preamble)`,
      'upgrade keywarden, or have the server write an older format',
    );
  }
}

/** Internal: thrown by the readers, turned into an RdbFormatError carrying the file name. */
export class RdbCorruption extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}
