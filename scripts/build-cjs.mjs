// The CommonJS entry (`require('keywarden')`): the compiled ESM in dist/ converted file by file
// into dist/cjs/ (a package.json there marks it CommonJS), with the declarations copied beside
// it so TypeScript projects in CommonJS mode (module node16/nodenext) type-check against it.
// `import.meta.url` becomes the URL of the matching ESM file, so Lua scripts and assets resolve
// from dist/ exactly as they do for `import`.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const out = join(dist, 'cjs');
rmSync(out, { recursive: true, force: true });

function walk(dir, files = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (path === out) continue;
    if (statSync(path).isDirectory()) walk(path, files);
    else files.push(path);
  }
  return files;
}

const files = walk(dist);
await build({
  // The CLI's entry (top-level await) stays ESM-only: `bin` runs it as ESM.
  entryPoints: files.filter((f) => f.endsWith('.js') && relative(dist, f) !== join('cli', 'run.js')),
  outdir: out,
  outbase: dist,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  bundle: false,
  logLevel: 'warning',
  define: { 'import.meta.url': '__keywardenModuleUrl' },
  // dist/cjs/x/y.js → file URL of dist/x/y.js
  banner: {
    js: "const __keywardenModuleUrl = require('node:url').pathToFileURL(__filename.replace(/([\\\\/])cjs([\\\\/])(?!.*[\\\\/]cjs[\\\\/])/, '$1')).href;",
  },
});
for (const file of files.filter((f) => f.endsWith('.d.ts'))) {
  const target = join(out, relative(dist, file));
  mkdirSync(join(target, '..'), { recursive: true });
  cpSync(file, target);
}
writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
