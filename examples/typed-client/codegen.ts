// Typed operations for the typed-client example: every graphql(`…`) call in
// examples/typed-client/src, checked against schema.graphql and typed into
// examples/typed-client/src/gql (scripts/client-codegen.ts: graphql-codegen's
// client preset through @graphql-codegen/core). In your own project,
// `@graphql-codegen/cli` with the client preset does the same.
// Run from the repository root: `node --import tsx examples/typed-client/codegen.ts`.
import { runClientCodegen } from '../../scripts/client-codegen.ts';

runClientCodegen('typed-client', 'examples/typed-client/src');
