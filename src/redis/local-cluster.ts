// A local Redis Cluster for tests and benchmarks: redis-server processes in cluster mode on free
// ports, joined by `redis-cli --cluster create`. Each node keeps its nodes.conf in a folder of its
// own, so a node that was killed and started again rejoins the cluster (as a replica, once its
// replica was promoted). Node timeout 1 s, so a failover takes about two seconds, and partial
// coverage allowed, so the slots of live primaries keep serving while one primary fails over.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, LocalRedis } from './local-servers.ts';

export const CLUSTER_NODE_TIMEOUT_MS = 1_000;

export interface LocalCluster {
  nodes: LocalRedis[];
  /** REDIS_CLUSTER's value: every node as a seed. */
  url: string;
  /** The current role of every running node, by port, as the cluster reports it. */
  roles(): Promise<Map<number, 'primary' | 'replica'>>;
  /** Resolves once every running node sees the cluster ok and every replica is in sync. */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function clusterOk(nodes: LocalRedis[]): Promise<boolean> {
  const running = nodes.filter((n) => n.running);
  const answers = await Promise.all(
    running.map(async (n) => {
      const redis = new Redis({ port: n.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => {});
      try {
        await redis.connect();
        const [info, replication] = await Promise.all([redis.cluster('INFO') as Promise<string>, redis.info('replication')]);
        const ok = /cluster_state:ok/.test(info);
        const synced = !/role:slave/.test(replication) || /master_link_status:up/.test(replication);
        return ok && synced;
      } catch {
        return false;
      } finally {
        redis.disconnect();
      }
    }),
  );
  return answers.every(Boolean);
}

export async function startLocalCluster(opts: { primaries: number; replicasPerPrimary: number }): Promise<LocalCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ridematch-cluster-'));
  const nodes: LocalRedis[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < opts.primaries * (1 + opts.replicasPerPrimary); i++) {
      const port = await freePort();
      const node = new LocalRedis(port, [
        '--cluster-enabled', 'yes',
        '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS),
        '--cluster-require-full-coverage', 'no',
        '--dir', dir,
      ]);
      await node.start();
      nodes.push(node);
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(opts.replicasPerPrimary), '--cluster-yes']);
  } catch (err) {
    await stop();
    throw err;
  }
  const cluster: LocalCluster = {
    nodes,
    url: `redis://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    roles: async () => {
      const seed = nodes.find((n) => n.running)!;
      const redis = new Redis({ port: seed.port, maxRetriesPerRequest: 1 });
      try {
        const lines = ((await redis.cluster('NODES')) as string).trim().split('\n');
        const roles = new Map<number, 'primary' | 'replica'>();
        for (const line of lines) {
          const [, address, flags] = line.split(' ');
          if (flags!.includes('fail')) continue;
          roles.set(Number(address!.split(':')[1]!.split('@')[0]), flags!.includes('master') ? 'primary' : 'replica');
        }
        return roles;
      } finally {
        redis.disconnect();
      }
    },
    settled: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await clusterOk(nodes))) {
        if (Date.now() > deadline) throw new Error('the local cluster did not settle');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop,
  };
  await cluster.settled().catch(async (err) => {
    await stop();
    throw err;
  });
  return cluster;
}
