// Typed operations for the console: every graphql(`…`) call in console/src,
// checked against schema.graphql and typed into console/src/gql
// (scripts/client-codegen.ts). Run by scripts/console-build.mjs:
// `node --import tsx console/codegen.ts`.
import { runClientCodegen } from '../scripts/client-codegen.ts';

runClientCodegen('console', 'console/src');
