// `npm run db:migrate`: applies pending migrations (prisma/migrations) to
// DATABASE_URL, or to the embedded PostgreSQL under .data/pg when it is unset.
import { runCli, withCliDatabase } from './cli-database.ts';
import { applyMigrations } from './migrate.ts';

runCli(async () => {
  const applied = await withCliDatabase((databaseUrl) => applyMigrations(databaseUrl));
  if (applied.length === 0) console.log('Database is up to date; no migrations to apply.');
  else console.log(`Applied ${applied.length} migration(s):\n${applied.map((name) => `  ${name}`).join('\n')}`);
});
