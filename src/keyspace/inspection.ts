/**
 * What inspecting keys means to the read steps, whoever does it: scan-inspect.lua walking on
 * from a cursor (a ScriptInspector, inspect.ts) or commands inspecting the pages the steps
 * read themselves (a PageInspector, inspect-commands.ts).
 */
import type { KeyRecord } from './record.js';

export interface Inspection {
  records: Omit<KeyRecord, 'db' | 'node'>[];
  /** Keys gone (deleted or expired) between SCAN and inspection. */
  vanished: number;
}

export type InspectMethod = 'lua' | 'pipeline' | 'none';

/** Inspects the keys of SCAN pages the scanner read itself. */
export interface PageInspector {
  method: 'pipeline' | 'none';
  measuresMemory: boolean;
  inspect(keys: Buffer[]): Promise<Inspection>;
}

/** Walks on from a cursor and inspects what it reads, in one bounded server-side call. */
export interface ScriptInspector {
  method: 'lua';
  measuresMemory: boolean;
  walk(request: WalkRequest): Promise<WalkStep>;
}

export type Inspector = PageInspector | ScriptInspector;

export interface WalkRequest {
  cursor: string;
  /** SCAN COUNT per page inside the call. */
  pageCount: number;
  /** Server time after which the call reads no further page. */
  budgetMs: number;
  /** Most keys to return, 0 for no limit. */
  maxKeys: number;
  /** Walk position at which to stop (sample stretches), 1 for the whole walk. */
  stopAt: number;
  /** Keys in the table, to size the last page before `stopAt`. */
  tableKeys: number;
  match?: string;
  type?: string;
}

export interface WalkStep {
  next: string;
  /** Server-side duration of the call (from the server's own clock). */
  serverMs: number;
  /** Keys read in this step (vanished ones included). */
  keys: number;
  /** SCAN COUNT asked for in all: the step's size in the unit its cost is paced by. */
  scanned: number;
  /** Decode the records; kept apart so the scanner can send the next call first. */
  decode(): Inspection;
}
