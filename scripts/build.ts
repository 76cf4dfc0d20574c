// npm run build — src/ → dist/ as plain JavaScript, run in production with `node dist/main.js`.
// This is the one place that knows what the built code needs besides the compiled .ts files.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import { MAP_BUNDLE_NAME, mapBuildOptions } from '../src/http/map-page.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');

// From scratch, so a deleted source file cannot live on in dist/.
rmSync(DIST, { recursive: true, force: true });
// The Prisma client generated into src/generated/prisma is TypeScript too and is compiled with the rest.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });

// The Lua scripts are read at run time relative to the code (src/redis/scripts.ts reads
// ../geo/lua/*.lua and ../match/lua/*.lua), so they go to the same place under dist/.
const luaFiles = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.lua'));
for (const file of luaFiles) cpSync(path.join(SRC, file), path.join(DIST, file));

// The migrations need no copy: src/db/migrate.ts reads ../../prisma/migrations, and dist/db/ sits
// as deep as src/db/, so the built runner finds the package's own prisma/migrations (the
// Dockerfile ships that folder beside dist/).
// The map page's script is bundled here (production installs no esbuild); src/http/map-page.ts
// serves dist/http/map-app.js when it finds it beside itself.
const map = await build(mapBuildOptions());
writeFileSync(path.join(DIST, 'http', MAP_BUNDLE_NAME), map.outputFiles[0]!.text);

console.log(`build: dist/ compiled, ${luaFiles.length} Lua scripts copied, the map page bundled`);
