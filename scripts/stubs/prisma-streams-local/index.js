// Stands in for @prisma/streams-local, through package.json's `overrides`.
// The real package is the streams runtime of `prisma dev` (Prisma's local
// Postgres server), which this project never runs: it has its own embedded
// PostgreSQL. It requires Node 22 or later, and on Node 20, which this project
// supports, every install would warn EBADENGINE about a package nothing uses.
export async function startLocalDurableStreamsServer() {
  throw new Error(
    '@prisma/streams-local is not installed in this project (see scripts/stubs/prisma-streams-local): `prisma dev` is not supported here',
  );
}
