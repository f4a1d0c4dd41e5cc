/**
 * Which files `keywarden lint` reads. Inside a git work tree the list comes from git itself
 * (`git ls-files --cached --others --exclude-standard`), so `.gitignore`, `.git/info/exclude`
 * and the global excludes apply exactly as git applies them; elsewhere the tree is walked.
 * Either way dependency and build directories are skipped, and symbolic links are never
 * followed: a link can lead out of the tree (or loop), and its target is linted where it lives.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** Directories that hold other people's code or generated output. */
const SKIP_DIRS = new Set([
  'node_modules',
  'vendor',
  'dist',
  'build',
  'out',
  'target',
  'coverage',
  '.git',
  '.hg',
  '.svn',
  '.next',
  '.nuxt',
  '__pycache__',
  '.venv',
  'venv',
  '.tox',
]);

/** Files that are declarations or minified bundles, not application code. */
const SKIP_FILE = /\.d\.[cm]?ts$|\.min\.js$/;

export interface SourceFile {
  /** Absolute path. */
  path: string;
  /** Path as reported: relative to the working directory. */
  name: string;
}

const inSkippedDir = (rel: string): boolean =>
  rel
    .split(/[\\/]/)
    .slice(0, -1)
    .some((part) => SKIP_DIRS.has(part));

function gitFiles(dir: string): string[] | undefined {
  try {
    const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z', '--', '.'], {
      cwd: dir,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.split('\0').filter((f) => f.length > 0);
  } catch {
    return undefined; // not a git work tree (or no git): walk it
  }
}

function walk(dir: string, base: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(path, base, out);
    } else if (entry.isFile()) {
      out.push(relative(base, path));
    }
  }
}

/** A regular file (not a link, not gone), for git's list: it names links and deleted files too. */
function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The files to lint under `paths` (files or directories) with one of `extensions`.
 * @throws UsageError when a path does not exist.
 */
export function listSourceFiles(paths: readonly string[], extensions: ReadonlySet<string>, cwd: string = process.cwd()): SourceFile[] {
  const seen = new Set<string>();
  const files: SourceFile[] = [];
  const add = (path: string) => {
    if (seen.has(path) || !extensions.has(extname(path)) || SKIP_FILE.test(path)) return;
    seen.add(path);
    files.push({ path, name: relative(cwd, path) || path });
  };
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let stat;
    try {
      stat = lstatSync(abs);
    } catch {
      throw new UsageError(`${p}: no such file or directory`, 'pass files or directories that exist (default: .)');
    }
    if (stat.isSymbolicLink()) continue;
    if (stat.isFile()) {
      add(abs);
      continue;
    }
    let rels = gitFiles(abs);
    if (rels === undefined) walk(abs, abs, (rels = []));
    for (const rel of rels) if (!inSkippedDir(rel) && isRegularFile(join(abs, rel))) add(join(abs, rel));
  }
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
