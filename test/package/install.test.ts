/**
 * The package as an application gets it: `npm pack`, the tarball installed into a throwaway
 * project next to the current ioredis, then a guarded write against a real server from
 * CommonJS (`require`), ESM (`import`), and TypeScript in both module kinds (module node16).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRedis, type RedisServer } from '../support/redis.js';

const repo = resolve(import.meta.dirname, '../..');
const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', timeout: 240_000 });

let server: RedisServer;
let app: string;

const POLICY = "{ rules: [{ match: 'session:*', ttl: '24h' }] }";
const script = (load: string, key: string) => `${load}
const redis = guard(new Redis(process.argv[2]), { policy: ${POLICY} });
redis.hset('${key}', 'user', 'ada')
  .then(() => redis.pttl('${key}'))
  .then((ttl) => { console.log(ttl); return redis.quit(); });
`;

before(async () => {
  server = await startRedis();
  app = mkdtempSync(join(tmpdir(), 'keywarden-app-'));
  npm(['run', 'build', '--silent'], repo);
  npm(['pack', '--ignore-scripts', '--pack-destination', app], repo);
  const tarball = readdirSync(app).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote a tarball');
  // `npm init -y` makes a CommonJS project; the app brings its own client (a peer dependency).
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  npm(['install', '--prefer-offline', `./${tarball}`, 'ioredis@6', 'typescript@5', '@types/node@20'], app);
});
after(async () => {
  await server?.stop();
  if (app) rmSync(app, { recursive: true, force: true });
});

function run(file: string): number {
  return Number(execFileSync(process.execPath, [file, server.url], { cwd: app, encoding: 'utf8', timeout: 30_000 }).trim());
}

const assertDayTtl = (ttl: number) => assert.ok(ttl > 86_000_000 && ttl <= 86_400_000, `PTTL ${ttl}`);

describe('the packed package in a fresh app', () => {
  it("require('keywarden') works in a CommonJS project", () => {
    writeFileSync(join(app, 'cjs.js'), script("const { guard } = require('keywarden');\nconst { Redis } = require('ioredis');", 'session:cjs'));
    assertDayTtl(run('cjs.js'));
  });

  it("import from 'keywarden' works in ESM", () => {
    writeFileSync(join(app, 'esm.mjs'), script("import { guard } from 'keywarden';\nimport { Redis } from 'ioredis';", 'session:esm'));
    assertDayTtl(run('esm.mjs'));
  });

  it('TypeScript (module node16, strict) type-checks and runs as CommonJS and as ESM', () => {
    const ts = script;
    writeFileSync(join(app, 'cts.ts'), ts("import { guard } from 'keywarden';\nimport { Redis } from 'ioredis';", 'session:cts'));
    writeFileSync(join(app, 'mts.mts'), ts("import { guard } from 'keywarden';\nimport { Redis } from 'ioredis';", 'session:mts'));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, skipLibCheck: false },
        files: ['cts.ts', 'mts.mts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', '.'], {
      cwd: app,
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 64 << 20,
    });
    assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout.slice(0, 3000)}`);
    assertDayTtl(run('cts.js'));
    assertDayTtl(run('mts.mjs'));
  });
});
