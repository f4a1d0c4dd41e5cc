/**
 * `--staged`, for pre-commit: the files in the index that differ from HEAD, read as staged
 * (not as in the working tree, which may hold unstaged edits), and the line ranges the change
 * adds or modifies. Two git calls whatever the size of the repository.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

export interface StagedFile {
  /** Path relative to the repository root, as git names it. */
  name: string;
  /** Absolute path. */
  path: string;
  /** The staged content. */
  source: string;
  /** Added or changed lines of the staged version. */
  lines: Set<number>;
}

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Changed line numbers per file, from `git diff --cached --unified=0`. */
export function changedLines(diff: string): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  let current: Set<number> | undefined;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++ ')) {
      const name = line.slice(4);
      current = name === '/dev/null' ? undefined : new Set();
      if (current) out.set(name.startsWith('b/') ? name.slice(2) : name, current);
    } else if (line.startsWith('@@') && current) {
      const m = /\+(\d+)(?:,(\d+))?/.exec(line);
      if (!m) continue;
      const start = Number(m[1]);
      const count = m[2] === undefined ? 1 : Number(m[2]);
      for (let i = 0; i < count; i++) current.add(start + i);
    }
  }
  return out;
}

/**
 * The staged files with one of `extensions`.
 * @throws UsageError outside a git work tree.
 */
export function stagedFiles(extensions: ReadonlySet<string>, cwd: string = process.cwd()): StagedFile[] {
  let root: string;
  try {
    root = git(['rev-parse', '--show-toplevel'], cwd).trim();
  } catch {
    throw new UsageError('--staged needs a git work tree', 'run it inside the repository, or lint paths instead of --staged');
  }
  const diff = git(['-c', 'core.quotepath=off', 'diff', '--cached', '--unified=0', '--no-color', '--no-ext-diff', '--diff-filter=ACMR', '--no-renames'], root);
  const files: StagedFile[] = [];
  for (const [name, lines] of changedLines(diff)) {
    const dot = name.lastIndexOf('.');
    if (dot === -1 || !extensions.has(name.slice(dot)) || lines.size === 0) continue;
    files.push({ name, path: join(root, name), source: git(['show', `:${name}`], root), lines });
  }
  return files;
}
