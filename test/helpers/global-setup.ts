// Once per test run: a fresh, migrated template database. Every test stack clones it (see
// stack.ts), so each stack has its own database: a stack's dispatch poller must never pick up
// rides of another stack, whose drivers live in other Redis servers.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch_test';

async function adminQuery(url: string, sql: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new database copied from the migrated template; returns its URL. */
export async function cloneDatabase(templateUrl: string, name: string): Promise<string> {
  const template = new URL(templateUrl).pathname.slice(1);
  await adminQuery(templateUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  await adminQuery(url, `DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
}

export async function recreateDatabase(url: string): Promise<void> {
  await dropDatabase(url);
  await adminQuery(url, `CREATE DATABASE "${new URL(url).pathname.slice(1)}"`);
}

export default async function setup(project: TestProject): Promise<void> {
  await recreateDatabase(TEST_DATABASE_URL);
  await migrate(TEST_DATABASE_URL);
  project.provide('databaseUrl', TEST_DATABASE_URL);
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
