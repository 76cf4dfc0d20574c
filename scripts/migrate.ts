// npm run db:migrate — create the database if needed and apply pending migrations.
import { loadConfig } from '../src/config.ts';
import { ensureDatabase } from '../src/db/admin.ts';
import { migrate } from '../src/db/migrate.ts';

const config = loadConfig();
try {
  if (await ensureDatabase(config.databaseUrl)) console.log('created database');
  const result = await migrate(config.databaseUrl, { log: (l) => console.log(l) });
  console.log(
    result.applied.length
      ? `${result.applied.length} migration(s) applied`
      : `database is up to date (${result.alreadyApplied.length} migration(s) applied earlier)`,
  );
} catch (err) {
  console.error(`db:migrate: ${(err as Error).message}`);
  process.exit(1);
}
