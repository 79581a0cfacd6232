# The gateway image, in two stages (README, "Docker"):
#   build    every dependency, the install steps (Prisma client, and whatever
#            else `postinstall` builds), then the dev dependencies pruned away;
#   runtime  Node LTS, those production dependencies, the sources, and `node`
#            itself as PID 1, so SIGTERM from `docker stop` reaches the gateway.
# The gateway runs its TypeScript through tsx's loader (`node --import tsx`),
# as `npm start` does: one way to run it everywhere, no compiled copy to keep
# in step with the sources.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Before the install: a devDependency (the @prisma/streams-local stub) is a file: in scripts/stubs.
COPY scripts ./scripts
# Install scripts stay off: npm before 11 ignores package.json's allowScripts,
# and Prisma's would download native engines the gateway never uses. The
# project's own install steps run next, explicitly.
RUN npm ci --ignore-scripts && npm cache clean --force
COPY tsconfig.json schema.graphql ./
COPY prisma ./prisma
COPY console ./console
COPY src ./src
RUN npm run postinstall && mkdir -p console/dist
RUN npm prune --omit=dev && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data
WORKDIR /app
# Owned by root, read-only for the gateway's user.
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json schema.graphql ./
COPY prisma ./prisma
COPY src ./src
COPY --from=build /app/src/generated ./src/generated
COPY --from=build /app/console/dist ./console/dist
# DATA_DIR: the simulator's result files (and an admin token, were none given).
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4000/readyz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "src/main.ts"]
