/**
 * The SCAN pages of one stretch of a table, and a call of the steps' own for each: read steps
 * inspect a page (inspect-keys.lua or pipelined commands), fix's write steps write it
 * (fix-expire.lua or pipelined MULTI/EXEC). Pages are read with plain SCAN, so the client sees
 * every name before anything else touches it, and are sized by the bytes of names they bring
 * back as well as by time. A page's call goes out with the next SCAN in one write(2), and the
 * calls are handled in SCAN order: a checkpoint cursor always means "every key before it is
 * done".
 */
import { permissionFailure } from '../../target/errors.js';
import { cursorPosition, scanPage, type Stretch } from './cursor.js';
import { NAME_BYTES_PER_CALL } from './calls.js';
import type { WalkState } from './node-walk.js';

/** One stretch of a table, read with one call in flight. */
export interface Lane {
  walk: WalkState;
  stretch: Stretch;
  tableKeys: number;
}

/** What a walk does with each page of keys: a call sent with the next SCAN, handled in SCAN order. */
export interface PageCalls<P, R extends { serverMs?: number }> {
  /** Calls answered and not yet handled while the next one runs (1: the one before it). */
  readonly lag: number;
  /**
   * Send the next SCAN first, alone, then prepare this page's call and send it as soon as it is
   * ready (fix decides and journals the keys it writes while the server reads the next page).
   * The server then always has one of our commands queued behind the one it runs, and the
   * cursor's round trip is hidden behind a write. Default: the call is prepared at once and
   * goes with the next SCAN in one write(2).
   */
  readonly ahead?: boolean;
  /** What a page's call needs, made (and waited for: a replica lagging) before it is sent. */
  prepare(keys: Buffer[], next: string): P | Promise<P>;
  /** Send the call: written to the connection before this returns (it goes out with a SCAN); undefined when there is nothing to send. */
  send(prepared: P, budgetMs: number): Promise<R> | undefined;
  /** A page is done, in SCAN order: `next` is where the walk goes on after it. A page without keys has no `prepared`. */
  handle(next: string, prepared: P | undefined, result: R | undefined): Promise<void> | void;
}

interface ScanPage {
  next: string;
  keys: Buffer[];
  /** SCAN COUNT asked for in all (a page read again bucket by bucket asks for more). */
  asked: number;
  /** Round trip of the SCAN itself: what sizes steps when nothing else is measured. */
  ms: number;
}

/** SCAN COUNT of a page before anything is known of the names' size on this node. */
const FIRST_PAGE = 16;
/** Keys of a node read before its names count as short (`namesAreShort`). */
const PROBE_KEYS = 2000;
/** Longest name of a node whose names are short. */
export const SHORT_NAME_BYTES = 1024;

/** How a walk of a stretch ended: true at its end, false when stopped, or where another kind of walk goes on. */
export type Outcome = boolean | { from: string };

/** The pages of one node's walks: what its names weigh is learnt from each page and sizes the next. */
export class Pages {
  /** Recent peak of key-name bytes per SCAN bucket on this node; unknown until a page came back. */
  private bytesPerBucket: number | undefined;
  /** Keys of this node read so far. */
  private namesSeen = 0;
  /** A name over SHORT_NAME_BYTES was seen on this node. */
  private longNames = false;

  constructor(private readonly filter: { match?: string; type?: string }) {}

  /**
   * Walk one stretch from `cursor`, handing each page to `calls`. Pages and their calls are
   * pipelined: a page's call goes out with the next SCAN (with `ahead`, right after it), and
   * the call before it is handled only then, so the server never waits on this client while
   * another of our calls is due. One call in flight per stretch, and with `ahead` the one
   * before it still running (several stretches share the call budget). True when the
   * stretch's end was reached; stopped, everything in flight is handled, so the checkpoint
   * stays exact.
   */
  async walk<P, R extends { serverMs?: number }>(lane: Lane, cursor: string, calls: PageCalls<P, R>, until?: () => boolean): Promise<Outcome> {
    const { walk, stretch } = lane;
    const { pacer, stopped } = walk;
    interface Step {
      next: string;
      scanned: number;
      scanMs: number;
      sent: number;
      prepared?: P;
      result?: Promise<R>;
    }
    const pending: Step[] = [];
    let page: Promise<ScanPage> | undefined = this.read(lane, cursor);
    let finished = false;
    /** Where `until` said to stop: the pages from there are for another kind of walk. */
    let switchAt: string | undefined;
    const send = (step: Step | undefined): void => {
      if (!step) return;
      step.sent = performance.now();
      const result = calls.send(step.prepared as P, pacer.nextCall().budgetMs);
      if (result) step.result = quiet(result);
      pending.push(step);
    };
    const readNext = (next: string): void => {
      if (finished) return;
      if (until?.()) switchAt = next;
      else page = this.read(lane, next);
    };
    const settle = async (step: Step): Promise<void> => {
      const result = await step.result?.catch((err) => {
        throw permissionFailure(err, walk.address) ?? err;
      });
      // Cost per bucket asked for, not per key returned: a sparse --match returns few keys
      // from many buckets, and pacing by keys would shrink every call to one tiny page.
      pacer.record(result?.serverMs ?? (step.result ? performance.now() - step.sent : step.scanMs), step.scanned, step.scanned);
      await calls.handle(step.next, step.prepared, result);
    };
    while (page) {
      if (stopped.aborted) break;
      const { next, keys, asked, ms } = await page;
      finished = next === '0' || (stretch.end < 1 && cursorPosition(next) >= stretch.end);
      page = undefined;
      const step: Step | undefined = keys.length > 0 ? { next, scanned: asked, scanMs: ms, sent: 0 } : undefined;
      if (!finished) await pacer.wait();
      if (calls.ahead) {
        readNext(next);
        if (step) {
          step.prepared = await calls.prepare(keys, next);
          send(step);
        }
      } else {
        if (step) step.prepared = await calls.prepare(keys, next);
        // The call, then the next SCAN, in one write(2): on loopback the sender's syscall also
        // delivers the data and wakes the server, and two per page cost this process more CPU
        // than the page's keys. The next page arrives once the call is done, and the one
        // before it is handled only after the next is sent.
        const stream = walk.conn.status === 'ready' ? walk.conn.stream : undefined;
        stream?.cork();
        send(step);
        readNext(next);
        stream?.uncork();
      }
      if (!step && pending.length === 0) await calls.handle(next, undefined, undefined);
      while (pending.length > calls.lag) await settle(pending.shift()!);
    }
    // Stopped early or at the end: everything in flight is handled, so the checkpoint stays exact.
    while (pending.length > 0) await settle(pending.shift()!);
    if (switchAt !== undefined && !stopped.aborted) return { from: switchAt };
    return finished && !stopped.aborted;
  }

  /**
   * The next SCAN page of a stretch, of `count` buckets. A page that runs past the stretch's
   * end is read again bucket by bucket, keeping the buckets before the end: stretches that
   * touch (lanes) never read a key twice.
   */
  read(lane: Lane, cursor: string): Promise<ScanPage> {
    const { walk, stretch } = lane;
    const count = this.count(lane, cursor);
    const sent = performance.now();
    const read = async (): Promise<ScanPage> => {
      // SCAN's cursor 0 at the end means the walk is done: position 1.
      const at = (c: string) => (c === '0' ? 1 : cursorPosition(c));
      let { next, keys } = await scanPage(walk.conn, cursor, count, this.filter);
      let asked = count;
      if (stretch.end < 1 && at(next) > stretch.end) {
        // Read the rest of the stretch again in smaller pages, each sized to 90% of what is
        // left at the keys per position the overshooting pages showed, keeping each page that
        // stops short of the end and shrinking after one that does not. COUNT 1 stops at the
        // first bucket holding a key: a single bucket still past the end is left to the next.
        keys = [];
        const from0 = cursorPosition(cursor);
        let density = count / Math.max(at(next) - from0, Number.EPSILON);
        let cap = count - 1;
        for (let from = cursor; ;) {
          const c = Math.max(1, Math.min(cap, Math.floor((stretch.end - cursorPosition(from)) * density * 0.9)));
          const part = await scanPage(walk.conn, from, c, this.filter);
          asked += c;
          if (at(part.next) > stretch.end) {
            if (c === 1) {
              next = part.next;
              break;
            }
            density = c / Math.max(at(part.next) - cursorPosition(from), Number.EPSILON);
            cap = c - 1;
            continue;
          }
          keys.push(...part.keys);
          from = next = part.next;
          if (at(next) >= stretch.end) break;
        }
      }
      const bytes = keys.reduce((sum, k) => sum + k.length, 0);
      const longest = keys.reduce((most, k) => Math.max(most, k.length), 0);
      this.note(keys.length, bytes, asked, longest);
      return { next, keys, asked, ms: performance.now() - sent };
    };
    return quiet(
      read().catch((err) => {
        throw permissionFailure(err, walk.address) ?? err;
      }),
    );
  }

  /**
   * SCAN COUNT of the next page from `cursor` (in buckets: a table has about as many buckets
   * as keys): the pacer's size for a call, at most what the names seen so far on this node
   * allow (NAME_BYTES_PER_CALL), and inside a stretch no more than what is left of it.
   */
  count({ walk, stretch, tableKeys }: Lane, cursor: string): number {
    const { pacer } = walk;
    const left = stretch.end < 1 ? Math.ceil((stretch.end - cursorPosition(cursor)) * tableKeys) : Infinity;
    const byBytes = this.bytesPerBucket === undefined ? FIRST_PAGE : Math.floor((NAME_BYTES_PER_CALL * 0.75) / Math.max(this.bytesPerBucket, 1));
    const maxKeys = pacer.nextCall().maxKeys || Infinity;
    return Math.max(1, Math.min(pacer.nextBatch(), left, byBytes, maxKeys));
  }

  /** A page read (here, or by a script): `keys` names of `bytes` in all from `asked` buckets, the longest `longest` bytes. */
  note(keys: number, bytes: number, asked: number, longest: number): void {
    if (longest > SHORT_NAME_BYTES) this.longNames = true;
    this.namesSeen += keys;
    // A peak that decays, not a mean: heavy names are rare (one bucket in a hundred), and a
    // mean would size the next page for the light buckets around them.
    this.bytesPerBucket = Math.max(bytes / Math.max(asked, 1), (this.bytesPerBucket ?? 0) * 0.9);
  }

  /** A page read elsewhere (a script's, dropped unread) held a name over SHORT_NAME_BYTES. */
  longNameSeen(): void {
    this.longNames = true;
  }

  /**
   * True once this node's first PROBE_KEYS keys showed no name over SHORT_NAME_BYTES, and
   * while none has been seen since: then a script may read its pages (SCAN inside a script
   * copies every name of its page into Lua: one 1 MB name costs such a call 2–4 ms, where a
   * plain SCAN returns it in well under one). Names are spread over the walk by their hash,
   * so a keyspace holding long names at a rate that could put two in one page shows one in
   * its first PROBE_KEYS keys all but surely.
   */
  namesAreShort(): boolean {
    return !this.longNames && this.namesSeen >= PROBE_KEYS;
  }
}

/** Mark a promise as handled now (it is awaited later, in order), so an early rejection is not "unhandled". */
export function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
