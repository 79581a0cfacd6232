// `npm run admin -- <command>`: the reseller's command line, a client of the
// gateway's GraphQL API like any other (GATEWAY_URL, ADMIN_TOKEN). It imports
// nothing of the gateway: what it can do is what the API lets an admin do.
//
// Exit codes: 0 done; 1 the gateway refused (an error result: the code and
// message are printed); 2 bad usage; 3 the gateway could not be reached or
// answered something that is not GraphQL.
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run admin -- <command> [options]

  tenants list [--first N]
  tenants create --name NAME
  tenants suspend --tenant ID --reason TEXT
  tenants reactivate --tenant ID
  keys issue --tenant ID [--name NAME] [--scopes READ,GENERATE,...] [--expires ISO-8601]
             [--credit-limit N --period DAY|MONTH]
  keys revoke --key ID
  keys rotate --key ID [--grace SECONDS]          (default grace 0: the old key stops at once)
  credits top-up --tenant ID --amount N --key IDEMPOTENCY-KEY [--note TEXT]
  credits adjust --tenant ID --amount ±N --reason TEXT --key IDEMPOTENCY-KEY
  usage --from ISO-8601 --to ISO-8601 [--tenant ID] [--csv]
  audit [--tenant ID] [--first N]
  upstream-health
  reconciliation --from ISO-8601 --to ISO-8601

environment: GATEWAY_URL (default http://localhost:4000), ADMIN_TOKEN (required)`;

class Refused extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}
class Unreachable extends Error {}
class Usage extends Error {}

async function gql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
  const base = (process.env.GATEWAY_URL || 'http://localhost:4000').replace(/\/+$/, '');
  const token = process.env.ADMIN_TOKEN;
  if (!token) throw new Usage('ADMIN_TOKEN is not set');
  let res: Response;
  try {
    res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new Unreachable(`cannot reach ${base}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`);
  }
  let body: { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new Unreachable(`${base}/graphql answered HTTP ${res.status} without a GraphQL body`);
  }
  const error = body.errors?.[0];
  if (error) throw new Refused(error.extensions?.code ?? 'ERROR', error.message);
  return body.data as T;
}

/** A mutation's result union: its data, or a Refused error with the member's code. */
function unwrap<T>(result: { __typename: string; data?: T; code?: string; message?: string; field?: string[] | null }): T {
  if (result.__typename.endsWith('Success')) return result.data as T;
  // `field` is the path to the input at fault (["tenantId"], ["imageUrls", "0"]).
  const field = result.field?.length ? ` (field: ${result.field.join('.')})` : '';
  throw new Refused(result.code ?? result.__typename, `${result.message ?? result.__typename}${field}`);
}

const ERRORS = '__typename ... on Error { code message } ... on ValidationError { field }';

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new Usage(`--${name} is required`);
  return value;
}

function integer(values: Record<string, unknown>, name: string, fallback?: number): number {
  const raw = values[name];
  if (raw === undefined && fallback !== undefined) return fallback;
  const n = Number(required(values, name));
  if (!Number.isInteger(n)) throw new Usage(`--${name} must be a whole number`);
  return n;
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((row) => columns.map((c) => String(row[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

function csv(rows: Record<string, unknown>[], columns: string[]): string {
  const quote = (v: unknown) => {
    const text = String(v ?? '');
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns.join(','), ...rows.map((row) => columns.map((c) => quote(row[c])).join(','))].join('\n');
}

const print = (value: unknown) => console.log(typeof value === 'string' ? value : JSON.stringify(value, null, 2));

/** `--amount -10` as `--amount=-10`: parseArgs would read `-10` as an option. */
function negativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg.startsWith('--') && !arg.includes('=') && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: negativeValues(argv),
    allowPositionals: true,
    options: {
      first: { type: 'string' },
      name: { type: 'string' },
      tenant: { type: 'string' },
      reason: { type: 'string' },
      key: { type: 'string' },
      scopes: { type: 'string' },
      expires: { type: 'string' },
      grace: { type: 'string' },
      'credit-limit': { type: 'string' },
      period: { type: 'string' },
      amount: { type: 'string' },
      note: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      csv: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals.join(' ');
  if (values.help || command === '') {
    console.log(USAGE);
    return;
  }
  switch (command) {
    case 'tenants list': {
      const data = await gql<{ tenants: { edges: { node: Record<string, unknown> & { balance: { available: number } } }[] } }>(
        `query($first: Int) { tenants(first: $first) { edges { node { id name status balance { available } createdAt } } } }`,
        { first: integer(values, 'first', 50) },
      );
      const rows = data.tenants.edges.map((e) => ({ ...e.node, available: e.node.balance.available }));
      return print(table(rows, ['id', 'name', 'status', 'available', 'createdAt']));
    }
    case 'tenants create': {
      const data = await gql<{ createTenant: never }>(
        `mutation($name: String!) { createTenant(input: { name: $name }) { ${ERRORS} ... on MutationCreateTenantSuccess { data { id name } } } }`,
        { name: required(values, 'name') },
      );
      return print(unwrap(data.createTenant));
    }
    case 'tenants suspend': {
      const data = await gql<{ suspendTenant: never }>(
        `mutation($id: ID!, $reason: String!) { suspendTenant(input: { tenantId: $id, reason: $reason }) { ${ERRORS}
           ... on MutationSuspendTenantSuccess { data { id name status suspendedReason } } } }`,
        { id: required(values, 'tenant'), reason: required(values, 'reason') },
      );
      return print(unwrap(data.suspendTenant));
    }
    case 'tenants reactivate': {
      const data = await gql<{ reactivateTenant: never }>(
        `mutation($id: ID!) { reactivateTenant(input: { tenantId: $id }) { ${ERRORS} ... on MutationReactivateTenantSuccess { data { id name status } } } }`,
        { id: required(values, 'tenant') },
      );
      return print(unwrap(data.reactivateTenant));
    }
    case 'keys issue': {
      const scopes = values.scopes ? values.scopes.split(',').map((s) => s.trim().toUpperCase()) : null;
      const data = await gql<{ issueApiKey: never }>(
        `mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) { ${ERRORS}
           ... on MutationIssueApiKeySuccess { data { secret apiKey { id prefix scopes expiresAt creditLimit creditLimitPeriod } } } } }`,
        {
          input: {
            tenantId: required(values, 'tenant'),
            name: values.name ?? null,
            scopes,
            expiresAt: values.expires ?? null,
            creditLimit: values['credit-limit'] === undefined ? null : integer(values, 'credit-limit'),
            creditLimitPeriod: values.period?.toUpperCase() ?? null,
          },
        },
      );
      return print(unwrap(data.issueApiKey));
    }
    case 'keys revoke': {
      const data = await gql<{ revokeApiKey: never }>(
        `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { ${ERRORS} ... on MutationRevokeApiKeySuccess { data { id prefix revokedAt } } } }`,
        { id: required(values, 'key') },
      );
      return print(unwrap(data.revokeApiKey));
    }
    case 'keys rotate': {
      const data = await gql<{ rotateApiKey: never }>(
        `mutation($id: ID!, $grace: Int!) { rotateApiKey(input: { keyId: $id, gracePeriodSeconds: $grace }) { ${ERRORS}
           ... on MutationRotateApiKeySuccess { data { secret oldKeyExpiresAt apiKey { id prefix } } } } }`,
        { id: required(values, 'key'), grace: integer(values, 'grace', 0) },
      );
      return print(unwrap(data.rotateApiKey));
    }
    case 'credits top-up': {
      const data = await gql<{ topUpCredits: never }>(
        `mutation($input: TopUpCreditsInput!) { topUpCredits(input: $input) { ${ERRORS}
           ... on MutationTopUpCreditsSuccess { data { id kind amount balanceAfter } } } }`,
        { input: { tenantId: required(values, 'tenant'), amount: integer(values, 'amount'), idempotencyKey: required(values, 'key'), note: values.note ?? null } },
      );
      return print(unwrap(data.topUpCredits));
    }
    case 'credits adjust': {
      const data = await gql<{ adjustCredits: never }>(
        `mutation($input: AdjustCreditsInput!) { adjustCredits(input: $input) { ${ERRORS} ... on InsufficientCreditsError { required available }
           ... on MutationAdjustCreditsSuccess { data { id kind amount balanceAfter note } } } }`,
        { input: { tenantId: required(values, 'tenant'), amount: integer(values, 'amount'), reason: required(values, 'reason'), idempotencyKey: required(values, 'key') } },
      );
      return print(unwrap(data.adjustCredits));
    }
    case 'usage': {
      const data = await gql<{
        usageReport: (Record<string, unknown> & { tenant: { name: string }; admin: { upstreamCredits: number; margin: number } | null })[];
      }>(
        `query($input: UsageReportInput!) { usageReport(input: $input) {
           day tenant { id name } model tasks succeeded failed creditsCharged creditsRefunded admin { upstreamCredits margin } } }`,
        { input: { from: required(values, 'from'), to: required(values, 'to'), tenantId: values.tenant ?? null } },
      );
      const rows = data.usageReport.map(({ admin, ...r }) => ({ ...r, tenant: r.tenant.name, upstreamCredits: admin?.upstreamCredits, margin: admin?.margin }));
      const columns = ['day', 'tenant', 'model', 'tasks', 'succeeded', 'failed', 'creditsCharged', 'creditsRefunded', 'upstreamCredits', 'margin'];
      return print(values.csv ? csv(rows, columns) : table(rows, columns));
    }
    case 'audit': {
      const data = await gql<{ auditLog: { edges: { node: { createdAt: string; action: string; actor: { kind: string; prefix: string | null }; tenant: { name: string } | null; details: unknown } }[] } }>(
        `query($tenant: ID, $first: Int) { auditLog(tenantId: $tenant, first: $first) { edges { node {
           createdAt action actor { kind prefix } tenant { name } details } } } }`,
        { tenant: values.tenant ?? null, first: integer(values, 'first', 50) },
      );
      const rows = data.auditLog.edges.map(({ node }) => ({
        createdAt: node.createdAt,
        action: node.action,
        actor: node.actor.prefix ? `${node.actor.kind} ${node.actor.prefix}` : node.actor.kind,
        tenant: node.tenant?.name ?? '',
        details: JSON.stringify(node.details),
      }));
      return print(table(rows, ['createdAt', 'action', 'actor', 'tenant', 'details']));
    }
    case 'upstream-health': {
      const data = await gql<{ upstreamHealth: unknown }>(`{ upstreamHealth { state since lastError probeAt } }`, {});
      return print(data.upstreamHealth);
    }
    case 'reconciliation': {
      const data = await gql<{ reconciliation: unknown }>(
        `query($from: DateTime!, $to: DateTime!) { reconciliation(from: $from, to: $to) { from to tasksChecked mismatches corrected driftCredits } }`,
        { from: required(values, 'from'), to: required(values, 'to') },
      );
      return print(data.reconciliation);
    }
    default:
      throw new Usage(`unknown command: ${command}`);
  }
}

run(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof Refused) {
      console.error(`error: ${error.code}: ${error.message}`);
      process.exit(1);
    }
    if (error instanceof Usage || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (error instanceof Unreachable) {
      console.error(`error: ${error.message}`);
      process.exit(3);
    }
    console.error(error);
    process.exit(3);
  },
);
