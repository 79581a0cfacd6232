// The framework's ceiling: a bare graphql-yoga answering `{ hello }` on
// node:http, nothing else (no plugins, no context, no database). Prints its
// URL as one JSON line on stdout. Yoga's request body limit is off here as
// in the gateway (server/yoga.ts: the HTTP server enforces it before Yoga),
// so that the baseline does not carry a cost the gateway does not.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { hello: String! }', resolvers: { Query: { hello: () => 'world' } } }),
  graphqlEndpoint: '/graphql',
  landingPage: false,
  graphiql: false,
  maxRequestBodySize: false,
  logging: false,
});
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/graphql` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
