// The database the db:* scripts work on: DATABASE_URL when set, otherwise the
// embedded PostgreSQL under .data/pg (the one `npm start` uses), started for the
// duration of the script. The app's config.ts is the reader of process.env for
// everything else; these scripts parse the one variable they need.
import { z } from 'zod';
import { startEmbeddedPostgres } from './embedded.ts';

export const EMBEDDED_DATA_DIR = '.data/pg';

const Env = z.object({
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, message: 'DATABASE_URL must be a postgres:// URL' })
    .optional()
    .or(z.literal('').transform(() => undefined)),
});

export async function withCliDatabase<T>(work: (databaseUrl: string) => Promise<T>): Promise<T> {
  const env = Env.safeParse(process.env);
  if (!env.success) throw new Error(z.prettifyError(env.error));
  if (env.data.DATABASE_URL) return work(env.data.DATABASE_URL);
  const embedded = await startEmbeddedPostgres({ dataDir: EMBEDDED_DATA_DIR });
  try {
    return await work(embedded.url);
  } finally {
    await embedded.stop();
  }
}

/** Runs a CLI's main: prints a failure's message (not a stack) and sets the exit code. */
export function runCli(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
