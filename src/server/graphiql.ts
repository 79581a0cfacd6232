// GraphiQL at /graphql for browsers (GET with Accept: text/html), on when
// GRAPHIQL is (default: outside production). Yoga's own page loads GraphiQL's
// script, styles and Monaco's editor workers from a CDN, so it is blank
// offline or behind a firewall; @graphql-yoga/render-graphiql (the same
// GraphiQL, released with Yoga) inlines all of them into the page instead:
// fonts and images as data: URLs, the workers as blob: URLs made in the page.
// Nothing is fetched from another host (test/server/graphiql.test.ts).
import type { GraphiQLOptions } from 'graphql-yoga';

/** The header editor's starting text: the one thing every operation needs. */
export const GRAPHIQL_HEADERS = JSON.stringify({ Authorization: 'Bearer <paste a tenant key or the admin token>' }, null, 2);

/**
 * The editor's starting document: what a tenant does (read, generate, follow
 * live), then what an admin does to onboard a tenant. It must validate
 * against the schema (a test checks it); no `</script` in it, since the
 * page embeds it in an inline script.
 */
export const GRAPHIQL_DEFAULT_QUERY = `# Grok Imagine gateway: example operations.
#
# 1. Headers (below): after "Bearer ", paste
#    - a tenant API key (gk_…; \`npm start\` prints a demo
#      one) for the tenant operations, or
#    - the admin token for the admin operations.
#    Then press Shift-Ctrl-R (or ↻, bottom left) to load
#    the schema: docs and completion.
# 2. Put the cursor in an operation, press Ctrl-Enter.
#    Ids go in Variables (below):
#      { "taskId": "…", "tenantId": "…" }
#
# A generation's price, in credits, is held when it starts,
# charged when upstream accepts it, refunded if it fails.

# ── Tenant ─────────────────────────────────────────────

# Who you are, your balance and your price per model.
query Me {
  me {
    id
    name
    status
    balance { available held low }
  }
  prices { model credits }
}

# An image from a prompt. Its data.id is the "taskId".
mutation TextToImage {
  textToImage(input: { prompt: "a lighthouse on a cliff at dawn, oil painting" }) {
    __typename
    ... on MutationTextToImageSuccess { data { id status creditsCharged } }
    ... on Error { code message }
  }
}

# That task live: its state now, then every change, until
# SUCCESS (resultUrls) or FAILED (errorMessage; refunded).
subscription TaskUpdated($taskId: ID!) {
  taskUpdated(id: $taskId) {
    id
    status
    resultUrls
    creditsCharged
    refunded
    errorMessage
  }
}

# ── Admin (Headers: Bearer + the admin token) ──────────

# A tenant. Its data.id is the "tenantId".
mutation CreateTenant {
  createTenant(input: { name: "Acme" }) {
    __typename
    ... on MutationCreateTenantSuccess { data { id name status } }
    ... on Error { code message }
  }
}

# Credits for it. Run twice, the same idempotencyKey tops up once.
mutation TopUpCredits($tenantId: ID!) {
  topUpCredits(
    input: { tenantId: $tenantId, amount: 1000, idempotencyKey: "welcome-credits", note: "first top-up" }
  ) {
    __typename
    ... on MutationTopUpCreditsSuccess { data { id kind amount balanceAfter } }
    ... on Error { code message }
  }
}

# An API key for it, shown once: the tenant's "Bearer …"
# for the operations above.
mutation IssueApiKey($tenantId: ID!) {
  issueApiKey(input: { tenantId: $tenantId, name: "graphiql" }) {
    __typename
    ... on MutationIssueApiKeySuccess { data { secret apiKey { id name scopes } } }
    ... on Error { code message }
  }
}
`;

export function graphiqlOptions(): GraphiQLOptions {
  return {
    title: 'Grok Imagine gateway',
    // GraphiQL introspects with these headers too: with the placeholder the
    // gateway answers 401 (malformed header), shown as the first response,
    // which is the prompt to paste a key; the document says how to reload
    // the schema then (Shift-Ctrl-R).
    headers: GRAPHIQL_HEADERS,
    // New tabs start with the same header to fill in.
    defaultHeaders: GRAPHIQL_HEADERS,
    defaultQuery: GRAPHIQL_DEFAULT_QUERY,
    // Yoga's SSE on the same endpoint: it carries the header editor's
    // Authorization, as every HTTP request does.
    subscriptionsProtocol: 'SSE',
  };
}

/**
 * Yoga's `renderGraphiQL`. The page is about 9 MB of inlined assets and the
 * options never change, so it is rendered once, on the first request; the
 * package is imported only then, so a gateway without GraphiQL never loads it.
 */
export function createGraphiQLRenderer(): (options: GraphiQLOptions) => Promise<Uint8Array<ArrayBuffer>> {
  let page: Promise<Uint8Array<ArrayBuffer>> | undefined;
  return (options) => {
    page ??= import('@graphql-yoga/render-graphiql')
      .then(({ renderGraphiQL }) => new TextEncoder().encode(renderGraphiQL(options)))
      .catch((error: unknown) => {
        page = undefined;
        throw error;
      });
    return page;
  };
}
