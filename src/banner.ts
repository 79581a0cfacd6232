// What `npm start` prints once the gateway answers: where, and with which
// credentials. To stderr as plain text, so stdout stays pure JSON logs.

export interface BannerFacts {
  graphqlUrl: string;
  graphiql: boolean;
  dataDir: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  demoKey: string | null;
  /** Gateway processes on the port (WEB_CONCURRENCY); shown when more than one. */
  processes?: number;
}

export function printBanner(facts: BannerFacts): void {
  const { graphqlUrl } = facts;
  const banner = [
    '',
    `  Grok Imagine gateway ready${facts.processes && facts.processes > 1 ? ` (${facts.processes} processes)` : ''}`,
    `  GraphQL:  ${graphqlUrl}${facts.graphiql ? '   (open it in a browser for GraphiQL)' : ''}`,
    `  WebSocket: ${graphqlUrl.replace(/^http/, 'ws')}   (graphql-transport-ws)`,
    `  Console:  ${graphqlUrl.replace(/\/graphql$/, '/console')}   (admin pages and a playground)`,
    facts.adminTokenGenerated ? `  Admin token (kept in ${facts.dataDir}/admin-token): ${facts.adminToken}` : '  Admin token: from ADMIN_TOKEN',
    facts.demoKey ? `  Demo tenant key: ${facts.demoKey}` : '',
    '',
  ].filter((line, i, all) => line !== '' || i === 0 || i === all.length - 1);
  process.stderr.write(`${banner.join('\n')}\n`);
}
