/**
 * Persistence: saves or AOF writes that fail, and data whose role needs persistence on a node
 * that has none.
 */
import { formatCount, formatSeconds, safeText } from '../format.js';
import { infoNumber, need, setting } from '../facts.js';
import type { NodeRule } from '../types.js';
import { needSample, patternRole } from './shared.js';

const persistenceFailing: NodeRule = {
  id: 'persistence-failing',
  scope: 'node',
  severity: 'critical',
  title: 'Persistence is failing',
  why: 'Changes since the last good save are lost on restart; with stop-writes-on-bgsave-error yes (the default) Redis refuses every write after a failed RDB save.',
  check({ node }) {
    const info = need(node, 'info');
    const failed = (['rdb_last_bgsave_status', 'aof_last_bgrewrite_status', 'aof_last_write_status'] as const).filter(
      (f) => info[f] !== undefined && info[f] !== 'ok',
    );
    if (failed.length === 0) return undefined;
    const lastSave = infoNumber(node, 'rdb_last_save_time');
    const changes = infoNumber(node, 'rdb_changes_since_last_save') ?? 0;
    const age = lastSave ? Date.now() / 1000 - lastSave : undefined;
    return {
      detail: `${failed.map((f) => `${f}:${info[f]}`).join(', ')}; ${formatCount(changes)} changes since the last successful save${age !== undefined ? ` ${formatSeconds(age)} ago` : ''}`,
      evidence: {
        failed,
        changesSinceLastSave: changes,
        lastSaveTime: lastSave ?? null,
        stopWritesOnBgsaveError: node.config?.['stop-writes-on-bgsave-error'] ?? null,
      },
    };
  },
  fix() {
    return [
      'read the reason in the Redis log (LOG: "Background saving error" / "Error writing to the AOF file")',
      'check the disk: free space and permissions of CONFIG GET dir (and fork failures: vm.overcommit_memory=1)',
      'then save again: BGSAVE (or BGREWRITEAOF) and check INFO persistence',
    ];
  },
};

/** Roles whose loss on restart is data loss; sessions only log people out, so they weigh less. */
const NEEDS_PERSISTENCE = new Set(['durable', 'queue', 'session']);

const persistenceOff: NodeRule = {
  id: 'persistence-off-for-durable-data',
  scope: 'node',
  severity: 'warning',
  title: 'No persistence, but the data is not a cache',
  why: 'With neither RDB snapshots nor AOF, a restart or crash empties Redis: durable records and queues are lost and every session is logged out.',
  check(ctx) {
    if (ctx.node.role !== 'master') return undefined;
    const save = setting(ctx.node, 'save').trim();
    const aof = setting(ctx.node, 'appendonly');
    if (save !== '' || aof === 'yes') return undefined;
    const held = needSample(ctx)
      .patterns.map((p) => ({ p, role: patternRole(p) }))
      .filter(({ p, role }) => role !== undefined && NEEDS_PERSISTENCE.has(role) && p.keys > 0);
    if (held.length === 0) return undefined;
    const dataLoss = held.some(({ role }) => role === 'durable' || role === 'queue');
    return {
      severity: dataLoss ? 'warning' : 'info',
      detail: `save "" and appendonly no, while holding ${held
        .slice(0, 5)
        .map(({ p, role }) => `${safeText(p.pattern)} (${role}, ${formatCount(p.keys)} keys)`)
        .join(', ')}`,
      evidence: { save: '', appendonly: aof, patterns: held.slice(0, 10).map(({ p }) => safeText(p.pattern)) },
    };
  },
  fix() {
    return [
      'CONFIG SET appendonly yes (AOF, fsync every second), and redis.conf: appendonly yes',
      'or snapshots: CONFIG SET save "3600 1 300 100 60 10000" (redis.conf: save 3600 1 300 100 60 10000)',
      'or, if the data really is disposable, mark its pattern as role: cache in the policy',
    ];
  },
};

export const persistenceRules = [persistenceFailing, persistenceOff] as const satisfies readonly NodeRule[];
