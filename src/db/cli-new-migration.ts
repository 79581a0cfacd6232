// `npm run db:migration -- <name>`: writes prisma/migrations/<ts>_<name>/migration.sql
// with the SQL that takes the migrations folder to prisma/schema.prisma, the
// job of `prisma migrate dev --create-only`. Review it, append what the Prisma
// schema cannot say (CHECK constraints, ...), then run `npm run db:migrate`.
// The migrations are replayed in a shadow database on DATABASE_URL's server
// (or the embedded one); the database itself is not touched.
import { runCli, withCliDatabase } from './cli-database.ts';
import { createMigrationFolder, diffMigrationsToSchema } from './migrate.ts';

runCli(async () => {
  const name = process.argv[2];
  if (!name || process.argv.length > 3) throw new Error('usage: npm run db:migration -- <name>');
  const sql = await withCliDatabase((databaseUrl) => diffMigrationsToSchema(databaseUrl));
  if (sql.trim() === '') {
    console.log('no changes: prisma/migrations already matches prisma/schema.prisma');
    return;
  }
  const folder = await createMigrationFolder(name, sql);
  console.log(`Wrote ${folder}/migration.sql`);
});
