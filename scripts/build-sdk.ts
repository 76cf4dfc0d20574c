// npm run build:sdk — the SDK (src/sdk) as the installable package @ridematch/sdk: ESM JavaScript
// and .d.ts files in packages/sdk/dist, beside the package's own package.json. `npm pack` in
// packages/sdk then makes the tarball a client app installs.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
export const SDK_PACKAGE = path.join(ROOT, 'packages/sdk');

// From scratch, so a deleted source file cannot live on in the package.
rmSync(path.join(SDK_PACKAGE, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(SDK_PACKAGE, 'tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
console.log('build:sdk: packages/sdk/dist compiled');
