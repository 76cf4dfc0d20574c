// docker-compose.yml, deploy/haproxy.cfg and deploy/sentinel.conf, as far as a machine without a
// container engine can check them: the wiring as `docker-compose config` resolves it (read with the
// app's own config parser), the balancer's file with the real haproxy, the Sentinels' file with the
// real redis-server in Sentinel mode.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, type Config } from '../src/config.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { redisOptionsFromUrl } from '../src/redis/connection.ts';
import { eventually } from './helpers/graphql.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SECRETS = { JWT_SECRET: 'deploy-test-secret-0123456789abcdef', POSTGRES_PASSWORD: 'deploy-test-password' };

interface Service {
  image?: string;
  build?: { context: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | null>;
  volumes?: string[];
  ports?: Array<{ published: number; target: number }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** `docker-compose config` with only these variables: no .env file, nothing from our own environment. */
async function composeConfig(vars: Record<string, string>): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const envFile = path.join(mkdtempSync(path.join(tmpdir(), 'compose-env-')), 'empty.env');
  writeFileSync(envFile, '');
  try {
    const { stdout, stderr } = await promisify(execFile)('docker-compose', ['--env-file', envFile, 'config'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars },
    });
    return { ok: true, stdout, stderr };
  } catch (err) {
    const e = err as { stdout: string; stderr: string };
    return { ok: false, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A volume entry `source:target[:mode]`; a bind mount's source is an absolute path. */
function mount(entry: string): { source: string; target: string } {
  const [source, target] = entry.split(':');
  return { source: source!, target: target! };
}

const argAfter = (args: string[] | undefined, flag: string, n = 1): string[] | undefined => {
  const i = args?.indexOf(flag) ?? -1;
  return i >= 0 ? args!.slice(i + 1, i + 1 + n) : undefined;
};

/** HAProxy's config as sections ("backend api" → its lines), comments and indentation dropped. */
function haproxySections(text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trimEnd();
    if (!line.trim()) continue;
    if (/^\S/.test(line)) sections.set(line, (current = []));
    else current.push(line.trim());
  }
  return sections;
}

/** HAProxy time: a number with us/ms/s/m/h/d, milliseconds when bare. */
function haproxyMs(value: string): number {
  const [, n, unit = 'ms'] = /^(\d+)(us|ms|s|m|h|d)?$/.exec(value) ?? [];
  const scale = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  return Number(n) * scale;
}

let compose: Compose;
let apis: Array<[string, Service]>;
let apiConfigs: Config[];
let sentinels: Array<[string, Service]>;

beforeAll(async () => {
  const result = await composeConfig(SECRETS);
  expect(result.ok, result.stderr).toBe(true);
  compose = parse(result.stdout) as Compose;
  const services = Object.entries(compose.services);
  apis = services.filter(([, s]) => s.build);
  // The API's own configuration loader reads each instance's environment, as it will at start.
  apiConfigs = apis.map(([, s]) => loadConfig(Object.fromEntries(Object.entries(s.environment ?? {}).filter(([, v]) => v !== null)) as Record<string, string>));
  sentinels = services.filter(([, s]) => [...(s.entrypoint ?? []), ...(s.command ?? [])].join(' ').includes('--sentinel'));
});

describe('docker-compose.yml', () => {
  it('refuses to start without JWT_SECRET or the Postgres password (no defaults)', async () => {
    for (const name of Object.keys(SECRETS) as Array<keyof typeof SECRETS>) {
      for (const value of [undefined, '']) {
        const vars: Record<string, string> = { ...SECRETS };
        if (value === undefined) delete vars[name];
        else vars[name] = value;
        const result = await composeConfig(vars);
        expect(result.ok, `${name}=${value}`).toBe(false);
        expect(result.stderr).toContain(`set ${name}`);
      }
    }
  });

  it('runs two API instances built from the Dockerfile, in production, GraphiQL off, secrets from the environment', () => {
    expect(apis).toHaveLength(2);
    const postgres = Object.entries(compose.services).find(([, s]) => s.image?.startsWith('postgres:'));
    expect(postgres?.[1].image).toBe('postgres:15');
    const pgEnv = postgres![1].environment!;
    expect(pgEnv.POSTGRES_PASSWORD).toBe(SECRETS.POSTGRES_PASSWORD);
    for (const [i, [name, api]] of apis.entries()) {
      expect(api.build!.context, name).toBe(ROOT);
      const config = apiConfigs[i]!;
      expect(config.env).toBe('production');
      expect(config.graphiql).toBe(false);
      expect(config.jwt.secret).toBe(SECRETS.JWT_SECRET);
      expect(config.introspection).toBe(false);
      // Behind the balancer every connection comes from its address: without the forwarded
      // client address, the per-address limits (failed sign-ins, anonymous calls) would be
      // shared by every client, and 20 forged tokens would lock everyone out.
      expect(config.trustProxy, name).toBe(true);
      // Metrics on their own port, published nowhere.
      expect(config.metrics).toEqual({ port: 9464, token: null });
      expect(api.ports ?? [], name).toEqual([]);
      const db = new URL(config.databaseUrl);
      expect([db.hostname, db.username, db.password, db.pathname]).toEqual([postgres![0], pgEnv.POSTGRES_USER, SECRETS.POSTGRES_PASSWORD, `/${pgEnv.POSTGRES_DB}`]);
    }
  });

  it('gives every API instance every shard and the event bus, each through all three Sentinels', () => {
    expect(sentinels).toHaveLength(3);
    const sentinelNames = sentinels.map(([name]) => name).sort();
    const mastersPerApi = apiConfigs.map((config) => {
      expect(config.redisShards).toHaveLength(3);
      const urls = [...config.redisShards!.map((s) => s.url), config.pubsubRedisUrl!];
      return urls.map((url) => {
        const options = redisOptionsFromUrl(url);
        expect(options.sentinels?.map((s) => `${s.host}:${s.port}`).sort(), url).toEqual(sentinelNames.map((n) => `${n}:26379`));
        return options.name!;
      });
    });
    const [first, ...others] = mastersPerApi;
    expect(new Set(first).size, 'the bus is not one of the shards').toBe(4);
    for (const masters of others) expect(masters).toEqual(first);
  });

  it('puts a primary and a replica behind every master, watched by all three Sentinels (real redis-sentinel)', async () => {
    // All three run the same file from deploy/.
    const sentinelConf = path.join(ROOT, 'deploy/sentinel.conf');
    for (const [name, s] of sentinels) {
      expect(s.volumes?.map(mount), name).toContainEqual({ source: sentinelConf, target: '/etc/redis/sentinel.conf' });
    }
    // What Sentinel makes of the file: it rewrites its config, so it runs on a copy.
    const dir = mkdtempSync(path.join(tmpdir(), 'sentinel-conf-'));
    copyFileSync(sentinelConf, path.join(dir, 'sentinel.conf'));
    const port = await freePort();
    const sentinel = spawn('redis-server', ['sentinel.conf', '--sentinel', '--port', String(port), '--bind', '127.0.0.1'], { cwd: dir, stdio: 'ignore' });
    const client = new Redis({ port, lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      const reply = (await eventually(() => client.call('SENTINEL', 'MASTERS').catch(() => null), 10_000)) as string[][];
      const masters = reply.map((fields) => Object.fromEntries(fields.flatMap((v, i) => (i % 2 ? [] : [[v, fields[i + 1]!]]))));
      const used = new Set(apiConfigs.flatMap((c) => [...c.redisShards!.map((s) => redisOptionsFromUrl(s.url).name), redisOptionsFromUrl(c.pubsubRedisUrl!).name]));
      expect(new Set(masters.map((m) => m.name))).toEqual(used);

      const services = compose.services;
      for (const m of masters) {
        // A majority of the three decides a failover.
        expect(Number(m.quorum), m.name).toBe(2);
        const primary = services[m.ip!];
        expect(primary?.command?.[0], `${m.name}'s primary ${m.ip}`).toBe('redis-server');
        expect(argAfter(primary!.command, '--replicaof')).toBeUndefined();
        expect(argAfter(primary!.command, '--port')?.[0] ?? '6379').toBe(m.port);
        const replicas = Object.entries(services).filter(([, s]) => argAfter(s.command, '--replicaof', 2)?.join(':') === `${m.ip}:${m.port}`);
        expect(replicas.length, `${m.name}'s replicas`).toBeGreaterThanOrEqual(1);
        // Each announces its own service name, so Sentinel hands out names, not container addresses.
        for (const [name, s] of [[m.ip!, primary!] as const, ...replicas]) expect(argAfter(s.command, '--replica-announce-ip')?.[0]).toBe(name);
      }
    } finally {
      client.disconnect();
      sentinel.kill('SIGKILL');
    }
  });

  it('balances over both API instances, routes by active checks of /ready, keeps sockets for a day (real haproxy)', async () => {
    const balancers = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('haproxy:'));
    expect(balancers).toHaveLength(1);
    const [, balancer] = balancers[0]!;
    const cfgPath = path.join(ROOT, 'deploy/haproxy.cfg');
    expect(balancer.volumes?.map(mount)).toContainEqual({ source: cfgPath, target: '/usr/local/etc/haproxy/haproxy.cfg' });

    // The real parser; unresolvable container names only warn (init-addr ... none).
    const check = await promisify(execFile)('haproxy', ['-c', '-f', cfgPath]).then(
      () => 'valid',
      (err: Error & { stderr?: string }) => err.stderr || err.message,
    );
    expect(check, 'haproxy -c').toBe('valid');

    const sections = haproxySections(await readFile(cfgPath, 'utf8'));
    const setting = (section: string, name: string) => sections.get(section)?.find((l) => l.startsWith(`${name} `))?.slice(name.length + 1);
    const frontend = [...sections.keys()].find((k) => k.startsWith('frontend '))!;
    expect(balancer.ports?.map((p) => p.target)).toEqual([Number(setting(frontend, 'bind')!.split(':').pop())]);
    const backend = `backend ${setting(frontend, 'default_backend')}`;
    const servers = sections.get(backend)!.filter((l) => l.startsWith('server ')).map((l) => l.split(/\s+/)[2]);
    expect(servers.sort()).toEqual(apis.map(([name], i) => `${name}:${apiConfigs[i]!.port}`).sort());
    expect(sections.get(backend)).toContain('option httpchk GET /ready');
    // Appends the client's address to X-Forwarded-For: the last hop, the one TRUST_PROXY reads.
    expect([...sections.get('defaults')!, ...sections.get(frontend)!, ...sections.get(backend)!]).toContain('option forwardfor');
    expect(`${setting(backend, 'default-server')}`.split(/\s+/)).toContain('check');
    const tunnel = sections.get('defaults')!.find((l) => l.startsWith('timeout tunnel '))!.split(/\s+/)[2]!;
    expect(haproxyMs(tunnel)).toBeGreaterThanOrEqual(24 * 3_600_000);
  });

  it('keeps Postgres on a named volume and mounts nothing but the config files', () => {
    const postgres = Object.values(compose.services).find((s) => s.image?.startsWith('postgres:'))!;
    const data = postgres.volumes!.map(mount).find((m) => m.target === '/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes ?? {})).toContain(data?.source);
    for (const [name, s] of Object.entries(compose.services)) {
      for (const { source } of (s.volumes ?? []).map(mount).filter((m) => path.isAbsolute(m.source))) {
        expect(path.relative(ROOT, source), `${name} mounts ${source}`).toMatch(/^deploy\//);
        expect(statSync(source).isFile(), `${name} mounts ${source}`).toBe(true);
      }
    }
  });
});
