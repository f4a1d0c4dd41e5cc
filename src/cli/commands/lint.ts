/**
 * `keywarden lint [paths…]`: find application code that creates Redis keys without a TTL.
 * Reads files only; never connects to Redis.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { lint } from '../../lint/index.js';
import { loadPolicy } from '../../policy/index.js';
import type { CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';
import { renderLintSarif } from '../render/lint-sarif.js';
import { renderLintText } from '../render/lint-text.js';

interface LintFlags {
  policy?: string;
  json?: boolean;
  format?: string;
  staged?: boolean;
}

const FORMATS = ['text', 'json', 'sarif'] as const;

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Register `keywarden lint`. */
export function registerLint(program: Command, io: CliIo): void {
  program
    .command('lint')
    .summary('find code that writes Redis keys without a TTL')
    .description(
      'Find code that creates Redis keys that never expire (JavaScript/TypeScript, Python, Go, Java, Ruby). ' +
        'Rules: no-ttl, non-atomic-expire, ttl-zero. Exit 1 when there are findings, 0 when clean, 2 on bad input.',
    )
    .helpOption('--help', 'show help for lint')
    .argument('[paths...]', 'files and directories to lint (default: .)')
    .option('--policy <file>', 'keywarden.yml: keys under a durable rule are fine, and a rule’s ttl is the TTL the fix proposes')
    .option('--staged', 'only the files and lines staged in git (for pre-commit)')
    .option('--format <format>', 'text, json or sarif', 'text')
    .option('--json', 'same as --format json')
    .action(async (paths: string[], flags: LintFlags, command: Command) => {
      const format = flags.json ? 'json' : (flags.format ?? 'text');
      const code = await runCommand(io, format === 'json', async () => {
        if (!(FORMATS as readonly string[]).includes(format))
          throw new UsageError(`--format '${format}' is not one of ${FORMATS.join(', ')}`, 'write --format text, --format json or --format sarif');
        if (flags.staged && paths.length > 0) throw new UsageError('--staged lints the staged change, not paths', 'drop the paths, or drop --staged');
        const policy = flags.policy ? await loadPolicy(flags.policy) : undefined;
        const { report, sources } = await lint({ paths, policy, staged: flags.staged });
        if (format === 'json') io.stdout(`${JSON.stringify(report, null, 2)}\n`);
        else if (format === 'sarif') io.stdout(renderLintSarif(report, version()));
        else io.stdout(renderLintText(report, sources));
        return report.findings.length > 0 ? 1 : 0;
      });
      finishWith(command, code);
    });
}
