/**
 * `keywarden undo --journal FILE [url]`: PERSIST the keys a fix run gave a TTL, only where
 * the TTL is still the one fix set. Acts at once (it can only take back what fix did);
 * `--dry-run` shows what it would do first.
 */
import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { undoFix } from '../../fix/index.js';
import { connectTarget } from '../../target/connect.js';
import { addTargetFlags, interruptOnSigint, intFlag, runCommand, targetFrom, type CliIo, type TargetFlags } from '../flags.js';
import { renderUndoText } from '../render/fix-text.js';

interface UndoFlags extends TargetFlags {
  journal: string;
  dryRun?: boolean;
  maxOps?: string;
  json?: boolean;
}

/** Register `keywarden undo`. */
export function registerUndo(program: Command, io: CliIo): void {
  const cmd = program
    .command('undo')
    .summary('take back the TTLs a `fix --apply` run set, from its journal')
    .description(
      'PERSIST the keys a fix run gave a TTL, read from its journal, but only where the remaining TTL is still the one fix set: ' +
        'a key the application has since given another TTL, re-created or deleted is left alone and reported.',
    );
  addTargetFlags(cmd)
    .requiredOption('--journal <file>', 'the journal `keywarden fix --apply` wrote')
    .option('--dry-run', 'only show what would be undone')
    .option('--max-ops <n>', 'hard cap: keys handled per second')
    .option('--json', 'print the report as one JSON document on stdout')
    .action(async (url: string | undefined, flags: UndoFlags) => {
      process.exitCode = await runCommand(io, flags.json === true, async () => {
        const spec = targetFrom(url, flags, io.env);
        if (spec.replicas && !flags.dryRun) throw new UsageError('undo writes to the primaries; replicas are read-only', 'drop --replicas');
        const maxOps = intFlag(flags.maxOps, '--max-ops');
        const target = await connectTarget(spec);
        const interrupt = interruptOnSigint(io, 'stopping after the batch in flight; run the same undo again to finish');
        try {
          const report = await undoFix(target, { journal: flags.journal, dryRun: flags.dryRun, maxOps, signal: interrupt.signal });
          io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderUndoText(report));
          return report.interrupted ? 130 : 0;
        } finally {
          interrupt.dispose();
          await target.close();
        }
      });
    });
}
