/**
 * INFO reply parsing, shared by the scanner (keyspace sizes), doctor and watch.
 */

/** INFO text → flat `field → value` map (section headers and blank lines dropped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n').join('\n').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}

/** `db0:keys=1,expires=0,avg_ttl=0` lines → per-db key counts. */
export function parseKeyspace(info: Record<string, string>): Map<number, { keys: number; expires: number }> {
  const dbs = new Map<number, { keys: number; expires: number }>();
  for (const [field, value] of Object.entries(info)) {
    const m = /^db(\d+)$/.exec(field);
    if (!m) continue;
    const parts = Object.fromEntries(value.split(',').map((kv) => kv.split('=')));
    dbs.set(Number(m[1]), { keys: Number(parts.keys ?? 0), expires: Number(parts.expires ?? 0) });
  }
  return dbs;
}
