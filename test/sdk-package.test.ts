// The SDK as a client app gets it: `npm run build:sdk`, `npm pack`, the tarball unpacked into an
// app's node_modules (its dependencies linked from ours, the versions package.json pins). The app
// (test/fixtures/sdk-app: a urql and an Apollo Client driver, strict tsc, its own tsconfig) is
// compiled against the package and run against a real server: a query, a mutation and the offers
// subscription, with the SDK's documents.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRidematchClient } from '../src/sdk/node.ts';
import { waitForFeed } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider } from './helpers/fixtures.ts';
import { watchProcess } from './helpers/process.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const PACKAGE = path.join(ROOT, 'packages/sdk');
let app: string;
let packed: { filename: string; files: Array<{ path: string }> };
let stack: Stack;

/** Runs a command to completion; a failure throws with everything it printed. */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${path.basename(command)} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

beforeAll(async () => {
  run('npm', ['run', '--silent', 'build:sdk'], ROOT);
  app = mkdtempSync(path.join(tmpdir(), 'ridematch-app-'));
  [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', app], PACKAGE));
  // What `npm install <tarball>` does for the package itself; its dependencies are ours.
  const modules = path.join(app, 'node_modules');
  const installed = path.join(modules, '@ridematch/sdk');
  mkdirSync(installed, { recursive: true });
  run('tar', ['-xzf', path.join(app, packed.filename), '-C', installed, '--strip-components=1'], app);
  for (const entry of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (!entry.startsWith('.')) symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  cpSync(path.join(ROOT, 'test/fixtures/sdk-app'), app, { recursive: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  run(process.execPath, [tsc, '-p', app], app);
  stack = await startStack();
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  if (app) rmSync(app, { recursive: true, force: true });
});

/** Bare module specifiers a built file and the package files it imports bring in. */
function dependenciesOf(file: string, seen = new Set<string>()): Set<string> {
  const bare = new Set<string>();
  if (seen.has(file)) return bare;
  seen.add(file);
  for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'/g)) {
    if (!spec) continue;
    if (spec.startsWith('.')) for (const dep of dependenciesOf(path.resolve(path.dirname(file), spec), seen)) bare.add(dep);
    else bare.add(spec);
  }
  return bare;
}

it('packs ESM JavaScript and declarations with .js imports; only the Node entry loads ws', () => {
  const files = packed.files.map((f) => f.path);
  expect(files).toContain('package.json');
  expect(files.filter((f) => f !== 'package.json').every((f) => /^dist\/.+\.(js|d\.ts)$/.test(f))).toBe(true);
  const installed = path.join(app, 'node_modules/@ridematch/sdk/dist');
  for (const file of files.filter((f) => f.startsWith('dist/'))) {
    expect(readFileSync(path.join(app, 'node_modules/@ridematch/sdk', file), 'utf8'), file).not.toMatch(/from '\.[^']*\.ts'/);
  }
  const browser = dependenciesOf(path.join(installed, 'index.js'));
  expect([...browser].sort()).toEqual(['graphql', 'graphql-ws']);
  expect(dependenciesOf(path.join(installed, 'node.js')).has('ws')).toBe(true);
});

it.each(['urql', 'apollo'])('a %s driver app runs a query, a mutation and the offers subscription with the SDK documents', async (name) => {
  const [driver] = await registerDrivers(stack.services, [{ id: uniqueId(name) }]);
  // Each app in a city of its own, so each ride is offered to that app's driver.
  const pickup = name === 'urql' ? { lat: 52.52, lng: 13.405 } : { lat: 41.9028, lng: 12.4964 };
  const child = watchProcess(
    spawn(process.execPath, [path.join(app, 'dist', `${name}-driver.js`)], {
      env: { ...process.env, RIDEMATCH_URL: stack.httpUrl, RIDEMATCH_TOKEN: await stack.token('driver', driver!.id), LAT: String(pickup.lat), LNG: String(pickup.lng) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  try {
    const step = async (name: string) => JSON.parse(await child.waitFor(new RegExp(`^\\{"step":"${name}"`), 20_000)).value;
    expect(await step('me')).toEqual({ __typename: 'Driver', id: driver!.id, name: driver!.name, carType: 'ECONOMY', status: 'AVAILABLE' });
    expect(await step('ack')).toMatchObject({ driverId: driver!.id, outOfOrder: false, searchable: true, notAString: true });
    await waitForFeed(stack, driver!.id);

    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const rider = createRidematchClient({ url: stack.httpUrl, token: await stack.token('rider', riderId), transport: 'http' });
    const ride = await rider.requestRide({ pickup, dropoff: offset(pickup.lat, pickup.lng, 2), carType: 'ECONOMY', paymentMethod: 'CARD' });
    await rider.close();
    expect(await step('offer')).toEqual({ rideId: ride.id, pickup });
    expect((await child.exited).code, child.output()).toBe(0);
  } finally {
    child.child.kill();
  }
});
