/**
 * What inspecting keys means to the read steps, whoever does it: inspect-keys.lua (inspect.ts)
 * or pipelined commands (inspect-commands.ts) inspecting the SCAN pages the steps read.
 */
import type { KeyRecord } from './record.js';

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
}
