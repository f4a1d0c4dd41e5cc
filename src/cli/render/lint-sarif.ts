/**
 * `keywarden lint --format sarif`: SARIF 2.1.0, the format GitHub code scanning (and most
 * code review tools) load. One run, the rules described once, one result per finding with
 * its region; file paths are relative URIs so the upload resolves them against the checkout.
 */
import type { LintReport, RuleId } from '../../lint/index.js';

const RULES: Record<RuleId, { short: string; full: string }> = {
  'no-ttl': {
    short: 'A Redis write creates a key that never expires',
    full: 'A write that can create a key (SET without EX/PX, HSET, LPUSH, SADD, ZADD, INCR, XADD, …) and no EXPIRE of the same key later in the same function, pipeline or transaction: every such key stays in memory until someone deletes it.',
  },
  'non-atomic-expire': {
    short: 'A key and its EXPIRE are sent in two round trips',
    full: 'The write that creates the key and the EXPIRE that bounds it are separate commands outside a MULTI or pipeline: a crash, timeout or deploy between them leaves the key without a TTL forever.',
  },
  'ttl-zero': {
    short: 'An explicit TTL that means "never expires"',
    full: 'A TTL of 0, None, null or Duration.ZERO where the client API reads it as "no expiry".',
  },
  'suppression-without-reason': {
    short: 'A keywarden-ignore-next-line comment without a reason',
    full: 'Suppressions must say why after two dashes (keywarden-ignore-next-line no-ttl -- reason); one without a reason suppresses nothing.',
  },
};

const toUri = (file: string): string => file.split(/[\\/]/).map(encodeURIComponent).join('/');

/** The SARIF 2.1.0 log for a lint report. */
export function renderLintSarif(report: LintReport, version: string): string {
  const ids = Object.keys(RULES) as RuleId[];
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'keywarden',
            version,
            rules: ids.map((id) => ({
              id,
              name: id,
              shortDescription: { text: RULES[id].short },
              fullDescription: { text: RULES[id].full },
              defaultConfiguration: { level: 'error' },
            })),
          },
        },
        results: report.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: ids.indexOf(f.rule),
          level: 'error',
          message: { text: `${f.message}. Fix: ${f.fix}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: toUri(f.file) },
                region: { startLine: f.line, startColumn: f.column, endLine: f.endLine, endColumn: f.endColumn },
              },
            },
          ],
          properties: { language: f.language, client: f.client, key: f.key, pattern: f.pattern },
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
