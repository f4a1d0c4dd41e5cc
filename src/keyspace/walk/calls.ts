/**
 * What one server call may carry: the bound on key-name bytes every step keeps (read steps,
 * write steps, undo), and the split of a batch of names into calls that keep it.
 */

/** A key name longer than this never goes to a script, nor in a server call with another name. */
export const HEAVY_NAME_BYTES = 32 * 1024;

/**
 * Bytes of key names one server call may carry (a script call, or a pipeline of commands), and
 * one SCAN page is sized to bring back. Every command on a key hashes and compares its whole
 * name: at about 1 GB/s, 256 KiB of names inspected is a fraction of a millisecond, while a
 * page of 1 MB names inspected in one call blocked a server for 40–100 ms.
 */
export const NAME_BYTES_PER_CALL = 256 * 1024;

/**
 * The server calls a batch of keys goes in, as indexes of `keys`: light names in order, packed
 * up to NAME_BYTES_PER_CALL bytes of names a call, then each name over HEAVY_NAME_BYTES in a
 * call of its own. A heavy name is never handed to a script: a Lua string of a 1 MB name costs more
 * than a millisecond to make, so its callers send it as single commands or a MULTI/EXEC.
 */
export function callsOf(keys: Buffer[]): number[][] {
  const calls: number[][] = [];
  const heavy: number[][] = [];
  let call: number[] = [];
  let bytes = 0;
  keys.forEach((k, i) => {
    if (k.length > HEAVY_NAME_BYTES) return void heavy.push([i]);
    if (bytes + k.length > NAME_BYTES_PER_CALL && call.length > 0) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push(i);
    bytes += k.length;
  });
  if (call.length > 0) calls.push(call);
  return [...calls, ...heavy];
}
