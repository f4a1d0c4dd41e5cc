// `npm run lint` runs this after ESLint: the module graph of src/ has no cycles, so a reader can
// follow it from the entry points down and any module can be loaded (or tested) on its own.
// Type-only imports count too: a cycle of types is still a cycle of design (FixOptions
// declared in apply.ts and imported back by the modules apply.ts calls was one).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycle: move the shared part (often a type) into a module both sides import.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Lazy import() in the command registry is still an edge of the graph.
    exclude: { path: '^src/assets/' },
  },
};
