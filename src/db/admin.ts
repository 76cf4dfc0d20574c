// Whole databases: create, drop, clone. Statements that cannot run inside the target database
// run through the server's `postgres` maintenance database. Used by `npm start` (create on first
// run), the tests (a cloned database per stack) and the benchmark (a fresh one per run).
import pg from 'pg';

export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
}

const nameOf = (url: string) => decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Runs `work` on a connection to the maintenance database of the server named in `url`. */
async function onMaintenanceDb<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  try {
    await client.connect();
  } catch (err) {
    throw new DatabaseUnreachableError(
      `PostgreSQL is not reachable at ${new URL(url).host} (${(err as Error).message}); ` +
        'start it (Debian: pg_ctlcluster 15 main start) or set DATABASE_URL',
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the database named in the URL when it does not exist yet (fresh machines have none). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const name = nameOf(url);
  if (!name) throw new Error('DATABASE_URL names no database');
  return onMaintenanceDb(url, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${quoted(name)}`);
    return true;
  });
}

export async function dropDatabase(url: string): Promise<void> {
  await onMaintenanceDb(url, (client) => client.query(`DROP DATABASE IF EXISTS ${quoted(nameOf(url))} WITH (FORCE)`));
}

/** Drops and creates the database: an empty one, whatever was there. */
export async function recreateDatabase(url: string): Promise<void> {
  await dropDatabase(url);
  await onMaintenanceDb(url, (client) => client.query(`CREATE DATABASE ${quoted(nameOf(url))}`));
}

/** A new database `name` copied from `templateUrl`'s database; returns its URL. */
export async function cloneDatabase(templateUrl: string, name: string): Promise<string> {
  await onMaintenanceDb(templateUrl, (client) => client.query(`CREATE DATABASE ${quoted(name)} TEMPLATE ${quoted(nameOf(templateUrl))}`));
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
