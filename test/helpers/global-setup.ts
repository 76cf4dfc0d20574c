// Once per test run: a fresh, migrated template database. Every test stack clones it (see
// stack.ts), so each stack has its own database: a stack's dispatch poller must never pick up
// rides of another stack, whose drivers live in other Redis servers.
import type { TestProject } from 'vitest/node';
import { recreateDatabase } from '../../src/db/admin.ts';
import { migrate } from '../../src/db/migrate.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch_test';

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
