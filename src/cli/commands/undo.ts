/**
 * `keywarden undo --journal FILE [url]`: PERSIST the keys a fix run gave a TTL, only where
 * the TTL is still the one fix set. Acts at once (it can only take back what fix did);
 * `--dry-run` shows what it would do first. A progress bar on a terminal, like fix's.
 */
import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { undoFix, type UndoProgress, type UndoReport } from '../../fix/index.js';
import { connectTarget } from '../../target/connect.js';
import { addTargetFlags, intFlag, targetFrom, type TargetFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';
import { interruptOnSigint } from '../signals.js';
import { progressBar } from '../progress.js';
import { formatCount } from '../../units.js';
import { renderUndoText } from '../render/fix-text.js';

interface UndoFlags extends TargetFlags {
  journal: string;
  dryRun?: boolean;
  maxOps?: string;
  fast?: boolean;
  json?: boolean;
  progress: boolean;
}

/** Register `keywarden undo`. */
export function registerUndo(program: Command, io: CliIo): void {
  const cmd = program
    .command('undo')
    .summary('take back the TTLs a `fix --apply` run set, from its journal')
    .description(
      'PERSIST the keys a fix run gave a TTL, read from its journal, but only where the remaining TTL is still the one fix set: ' +
        'a key the application has since given another TTL, re-created or deleted is left alone and reported. ' +
        'On a cluster each key goes to the master that serves its slot now, so a resharding since fix does not matter.',
    );
  addTargetFlags(cmd)
    .requiredOption('--journal <file>', 'the journal `keywarden fix --apply` wrote')
    .option('--dry-run', 'only show what would be undone')
    .option('--max-ops <n>', 'hard cap: keys handled per second, per node')
    .option('--fast', 'lift the latency guard (maintenance windows): bigger batches, no pauses')
    .option('--json', 'print the report as one JSON document on stdout')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .action(async (url: string | undefined, flags: UndoFlags, command: Command) => {
      const code = await runCommand(io, flags.json === true, async () => {
        const spec = targetFrom(url, flags, io.env);
        if (spec.replicas && !flags.dryRun) throw new UsageError('undo writes to the primaries; replicas are read-only', 'drop --replicas');
        const maxOps = intFlag(flags.maxOps, '--max-ops');
        const target = await connectTarget(spec);
        const interrupt = interruptOnSigint(io, 'stopping after the batch in flight; run the same undo again to finish');
        const progress =
          flags.progress && io.isTTY
            ? progressBar(
                `${flags.dryRun ? 'checking' : 'undoing'} [{bar}] {percentage}% | {done} of {journaled} keys | {rate} keys/s | ETA {eta_formatted}`,
                (p: UndoProgress) => ({
                  // Not {total}: cli-progress fills that token itself (the bar's scale).
                  done: formatCount(p.done),
                  journaled: formatCount(p.total),
                  rate: formatCount(p.keysPerSecond),
                }),
              )
            : undefined;
        let report: UndoReport;
        try {
          report = await undoFix(target, {
            journal: flags.journal,
            dryRun: flags.dryRun,
            maxOps,
            fast: flags.fast,
            signal: interrupt.signal,
            onProgress: progress?.update,
            // Before the first write, name what is about to change.
            onStart: () => {
              if (!flags.dryRun)
                io.stderr(
                  `keywarden: undoing TTLs on ${target.spec.display} (${target.mode}, ${target.nodes.length} node${target.nodes.length === 1 ? '' : 's'}) from journal ${flags.journal}\n`,
                );
            },
          });
        } finally {
          // Cleared before the report: both may share the terminal.
          progress?.stop();
          interrupt.dispose();
          await target.close();
        }
        io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderUndoText(report));
        return report.interrupted ? 130 : 0;
      });
      finishWith(command, code);
    });
}
