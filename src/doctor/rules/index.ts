/**
 * Every doctor rule, one family per file, in the order findings of equal severity are shown.
 */
import type { Rule } from '../types.js';
import { clientRules } from './clients.js';
import { clusterRules } from './cluster.js';
import { commandRules } from './commands.js';
import { configFileRules } from './config-file.js';
import { evictionRules } from './eviction.js';
import { healthRules } from './health.js';
import { keyspaceRules } from './keyspace.js';
import { memoryRules } from './memory.js';
import { persistenceRules } from './persistence.js';
import { replicationRules } from './replication.js';
import { securityRules } from './security.js';

export const RULES: readonly Rule[] = [
  ...memoryRules,
  ...evictionRules,
  ...keyspaceRules,
  ...persistenceRules,
  ...healthRules,
  ...replicationRules,
  ...clusterRules,
  ...clientRules,
  ...commandRules,
  ...securityRules,
  ...configFileRules,
];
