// Copies the non-TypeScript assets (Lua scripts, browser bundles) next to the compiled code,
// so `dist/` resolves them with the same relative paths as `src/` does under tsx.
import { cpSync, existsSync } from 'node:fs';

for (const dir of ['lua', 'assets']) {
  const from = new URL(`../src/${dir}`, import.meta.url);
  if (existsSync(from)) cpSync(from, new URL(`../dist/${dir}`, import.meta.url), { recursive: true });
}
