/**
 * Suggested commands that run as printed. Rules write their fixes target-free
 * (`keywarden fix --policy keywarden.yml`); pasted as is, such a command would act on
 * `REDIS_URL` or 127.0.0.1:6379 rather than the server that was diagnosed. This puts the
 * diagnosed target into every keywarden command of a fix, and a `policy init` step before
 * the first one that needs a policy file when none was given.
 */
import type { PrintedTarget } from '../target/spec.js';

/** How to name the diagnosed target and the CLI in suggested commands. */
export interface CommandContext {
  /**
   * The target as a command names it (`TargetSpec.command`: user name and TLS flags kept), or,
   * where only a report is at hand, as displayed (credentials redacted); undefined for a
   * redis.conf alone.
   */
  target: PrintedTarget | string | undefined;
  /** True when a policy file was given (it exists): no `policy init` step is needed. */
  hasPolicy: boolean;
  /** The policy file the fixes name. */
  policyFile: string;
  /** How the CLI is invoked: `keywarden`, or `npx keywarden` when it is not on the PATH. */
  cli?: string;
}

const REDACTED = '<credentials redacted>@';
const SUBCOMMANDS = /\bkeywarden (scan|fix|doctor|watch|undo)\b(?! (?:redis|rediss):\/\/)/g;

/**
 * The target as command arguments, without the password, which the CLI takes from
 * REDISCLI_AUTH; `needsAuth` says the lines must say to set it. From a displayed URL (a report
 * read back) the user name is gone with the password: the CLI passes `TargetSpec.command`.
 */
export function targetArgument(target: PrintedTarget | string): { arg: string; needsAuth: boolean } {
  if (typeof target !== 'string') return { arg: target.args, needsAuth: target.needsAuth };
  const needsAuth = target.includes(REDACTED);
  return { arg: needsAuth ? target.replace(REDACTED, '') : target, needsAuth };
}

/** Rewrite one finding's fix lines (pure). */
export function runnableFix(lines: readonly string[], ctx: CommandContext): string[] {
  const cli = ctx.cli ?? 'keywarden';
  const target = ctx.target === undefined ? undefined : targetArgument(ctx.target);
  const out: string[] = [];
  let initShown = false;
  for (const line of lines) {
    let text = target === undefined ? line : line.replace(SUBCOMMANDS, (_, sub: string) => `keywarden ${sub} ${target.arg}`);
    if (cli !== 'keywarden') text = text.replace(/\bkeywarden (scan|fix|doctor|watch|undo|policy) /g, `${cli} $1 `);
    if (!ctx.hasPolicy && !initShown && text.includes(`--policy ${ctx.policyFile}`)) {
      initShown = true;
      out.push(`no policy file yet: write a starter one and review it: ${cli} policy init${target ? ` ${target.arg}` : ''} > ${ctx.policyFile}`);
    }
    out.push(text);
  }
  if (target?.needsAuth && out.some((l) => l.includes(target.arg))) {
    out.push('the target needs a password: export REDISCLI_AUTH=<password> before these commands (keywarden reads it as redis-cli does)');
  }
  return out;
}
