// Import-direction rules for src/ (DESIGN.md, "Layout"). Arrows point down:
//   server → schema → tasks → ledger → db, with catalog below tasks and ledger;
//   the simulator is a separate program.
// Run: npm run deps:check   (test/layout/dependencies.test.ts uses the same file)
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'ledger-not-up',
      comment:
        'The ledger sits below tasks, schema and server and knows nothing of events or ' +
        'upstream: every write to money goes through it, so it must not depend on the layers that call it.',
      severity: 'error',
      from: { path: '^src/ledger/' },
      to: { path: '^src/(tasks|schema|server|events|upstream)/' },
    },
    {
      name: 'tasks-not-up',
      comment:
        'Tasks sit below the GraphQL schema and the server: the task lifecycle must not know how it is exposed.',
      severity: 'error',
      from: { path: '^src/tasks/' },
      to: { path: '^src/(schema|server)/' },
    },
    {
      name: 'simulator-alone',
      comment:
        'The simulator is a separate program (the fake upstream): it imports nothing else from src/, ' +
        'only npm packages and node builtins.',
      severity: 'error',
      from: { path: '^src/simulator/' },
      to: { path: '^src/', pathNot: '^src/simulator/' },
    },
    {
      name: 'catalog-bottom',
      comment:
        'The catalog (models, costs, prices) sits below tasks and ledger: it imports nothing of the ' +
        "gateway except Prisma's generated enums in src/generated.",
      severity: 'error',
      from: { path: '^src/catalog\\.ts$' },
      to: { path: '^src/', pathNot: ['^src/catalog\\.ts$', '^src/generated/'] },
    },
    {
      name: 'events-below-tasks',
      comment:
        'Events (the bus, live feeds, the webhook outbox) are used by the task lifecycle and the server; ' +
        'they must not reach back up into them.',
      severity: 'error',
      from: { path: '^src/events/' },
      to: { path: '^src/(tasks|schema|server)/' },
    },
    {
      name: 'upstream-client-alone',
      comment:
        "The upstream client is a typed client of someone else's API: it knows the catalog's model names " +
        'and nothing of the gateway that uses it.',
      severity: 'error',
      from: { path: '^src/upstream/' },
      to: { path: '^src/(tasks|ledger|schema|server|events|auth|tenants|simulator)/' },
    },
    {
      name: 'limits-low',
      comment:
        'Limits (shared budgets and live slots) sit just above db: tasks, auth and the server use them; ' +
        'they know nothing of what they limit.',
      severity: 'error',
      from: { path: '^src/limits/' },
      to: { path: '^src/(ledger|tasks|schema|server|events|auth|upstream|tenants|simulator)/' },
    },
    {
      name: 'cli-alone',
      comment: 'The admin CLI is a GraphQL client of the gateway: it imports nothing of the gateway itself.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: '^src/cli/' },
    },
    {
      name: 'metrics-low',
      comment:
        'Metrics (the Prometheus registry) sit low: tasks, events and the server record into them; they know ' +
        "nothing of those, only the upstream client's types, which they wrap.",
      severity: 'error',
      from: { path: '^src/metrics/' },
      to: { path: '^src/(ledger|tasks|schema|server|events|auth|tenants|limits|audit|simulator|db)/' },
    },
    {
      name: 'audit-low',
      comment:
        'The audit log sits just above db: the ledger, tenants, auth and events write through it in their own ' +
        'statements and transactions; it knows nothing of them.',
      severity: 'error',
      from: { path: '^src/audit/' },
      to: { path: '^src/', pathNot: ['^src/audit/', '^src/db/', '^src/generated/'] },
    },
    {
      name: 'db-bottom',
      comment:
        'db (Prisma client, embedded postgres, migrations) is the bottom layer, below the ledger: ' +
        'it imports none of the gateway parts above it.',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: '^src/(ledger|tasks|schema|server|events|auth|upstream|tenants|limits)/' },
    },
  ],
  options: {
    // Prisma's generated code is not cruised as a source, but imports into it
    // are still recorded (and allowed).
    doNotFollow: { path: ['node_modules', '^src/generated/'] },
    // Count type-only imports (`import type ...`) too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The code imports with explicit `.ts` extensions; also resolve bare ones.
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
