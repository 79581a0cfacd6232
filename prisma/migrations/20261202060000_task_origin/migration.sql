-- The API a task was asked through: GraphQL, or the REST facade that serves
-- the upstream's own API (src/server/rest/). It decides the shape of the
-- task's webhook body (src/tasks/payload.ts).
CREATE TYPE "TaskOrigin" AS ENUM ('GRAPHQL', 'REST');

ALTER TABLE "task" ADD COLUMN "origin" "TaskOrigin" NOT NULL DEFAULT 'GRAPHQL';
