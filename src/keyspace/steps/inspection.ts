/**
 * What inspecting keys means to the read steps, whoever does it: inspect-keys.lua (inspect.ts)
 * or pipelined commands (inspect-commands.ts) inspecting the SCAN pages the steps read.
 */
import type { KeyRecord } from '../record.js';

export interface Inspection {
  records: Omit<KeyRecord, 'db' | 'node'>[];
  /** Keys gone (deleted or expired) between SCAN and inspection. */
  vanished: number;
  /** Server time the inspection took, from the server's own clock, when known (a script's TIME). */
  serverMs?: number;
}

export type InspectMethod = 'lua' | 'pipeline' | 'none';

/** Inspects the keys of the SCAN pages the read steps read. */
export interface PageInspector {
  method: InspectMethod;
  measuresMemory: boolean;
  /** Inspect `keys`; `budgetMs` is how long one server call of it may run (a script stops there and the rest goes in another). */
  inspect(keys: Buffer[], budgetMs?: number): Promise<Inspection>;
  /**
   * One server call that inspects `keys` and then reads and inspects the SCAN page `next`
   * describes, until `budgetMs` is spent (inspect-keys.lua; the read steps' fast path).
   * Inspectors that cannot read pages themselves leave it out.
   */
  step?(keys: Buffer[], budgetMs: number, next?: NextPage): Promise<InspectStep>;
}

/** The SCAN page an inspection step reads after the keys it is sent. */
export interface NextPage {
  cursor: string;
  count: number;
  match?: string;
  type?: string;
  /** A page holding a longer name is not read there (the caller reads it itself). */
  longest: number;
  /** Nor one taking the names read past this many bytes. */
  bytes: number;
  /** Most buckets read in all (more pages follow while the budget lasts); 0 for no limit. */
  most: number;
}

/**
 * What one inspection step did. Records are decoded when asked for, so a caller can send its
 * next call on the counts alone and decode while that call runs.
 */
export interface InspectStep {
  /** Keys sent that were inspected: the first `done` (the others are the caller's to send again). */
  done: number;
  serverMs: number;
  /** The page asked for was not read: a name of it was over `NextPage.longest`. */
  heavy: boolean;
  /** Records of the keys sent and inspected (`keys`: the first `done` of them). */
  sent(keys: Buffer[]): Pick<Inspection, 'records' | 'vanished'>;
  /** The pages read, when asked for and read. */
  page?: ReadPages;
}

/** Pages an inspection step read and (the first `done` of their keys) inspected. */
export interface ReadPages {
  next: string;
  /** SCAN COUNT asked for in all. */
  asked: number;
  /** Keys read, and their names' bytes in all. */
  found: number;
  bytes: number;
  done: number;
  /** Records of the first `done` keys. */
  inspected(): Pick<Inspection, 'records' | 'vanished'>;
  /** The keys after the first `done`, not inspected. */
  left(): Buffer[];
}
