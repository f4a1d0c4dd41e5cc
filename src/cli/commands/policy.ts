/**
 * `keywarden policy init [url]`: a starter keywarden.yml from a sampled scan, printed on
 * stdout (or written with --out). Read-only on the server.
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { policyYaml, suggestPolicy } from '../../policy/suggest.js';
import { connectTarget } from '../../target/connect.js';
import { checkOutputPath, writeOutputFile } from '../files.js';
import { addTargetFlags, intFlag, targetFrom, type TargetFlags } from '../flags.js';
import type { CliIo } from '../io.js';
import { runCommand, finishWith } from '../runner.js';

interface InitFlags extends TargetFlags {
  sample: string;
  maxRules: string;
  out?: string;
  force?: boolean;
  json?: boolean;
}

/** Register `keywarden policy` and its subcommand `init`. */
export function registerPolicy(program: Command, io: CliIo): void {
  const policy = program.command('policy').summary('work with keywarden.yml policies').helpOption('--help', 'show help for policy');
  const init = policy
    .command('init')
    // Created before main.ts sets these on top-level commands: set them here too.
    .exitOverride()
    .configureOutput({ writeOut: (t) => io.stdout(t), writeErr: (t) => io.stderr(t) })
    .summary('write a starter policy from a sampled scan')
    .description(
      'Sample the keyspace and suggest one rule per key pattern: a TTL from the TTLs the pattern already has, else from its name ' +
        '(sessions, caches, tokens, counters, locks), else role: durable for you to review. Each rule has a comment saying what was seen.',
    );
  addTargetFlags(init)
    .option('--sample <keys>', 'keys to sample', '20000')
    .option('--max-rules <n>', 'most rules to suggest', '50')
    .option('-o, --out <file>', 'write the policy to this file instead of stdout')
    .option('--force', 'overwrite --out if it exists')
    .option('--json', 'print the suggestion (rules and the YAML) as one JSON document')
    .action(async (url: string | undefined, flags: InitFlags, command: Command) => {
      const code = await runCommand(io, flags.json === true, async () => {
        if (flags.out && existsSync(flags.out) && !flags.force)
          throw new UsageError(`${flags.out} already exists`, 'choose another --out, or add --force to overwrite it');
        if (flags.out) checkOutputPath(flags.out, '--out');
        const spec = targetFrom(url, flags, io.env);
        const sampleKeys = intFlag(flags.sample, '--sample');
        const maxRules = intFlag(flags.maxRules, '--max-rules');
        const target = await connectTarget(spec);
        let yaml: string;
        let suggestion;
        try {
          suggestion = await suggestPolicy(target, { sampleKeys, maxRules, db: spec.db });
          yaml = policyYaml(suggestion);
        } finally {
          await target.close();
        }
        if (flags.out) {
          writeOutputFile(flags.out, yaml, '--out');
          io.stderr(`keywarden: ${suggestion.rules.length} rules written to ${flags.out}; review them, then: keywarden fix --policy ${flags.out}\n`);
        }
        if (flags.json) io.stdout(`${JSON.stringify({ kind: 'keywarden.policy-init', ...suggestion, yaml }, null, 2)}\n`);
        else if (!flags.out) io.stdout(yaml);
        return 0;
      });
      finishWith(command, code);
    });
}
