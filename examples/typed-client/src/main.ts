// The typed client example: an admin creates a tenant, tops it up and issues
// it a key; the tenant submits a generation and follows it live to its end;
// then errors, handled by type: a union member (no credits) and top-level
// codes (a tenant key on an admin field, a bad key over HTTP and WebSocket).
//
//   GATEWAY_URL=http://127.0.0.1:4000/graphql ADMIN_TOKEN=gkadmin_… \
//     node --import tsx examples/typed-client/src/main.ts
import { randomUUID } from 'node:crypto';
import { GraphQLRequestError, httpClient, liveClient, subscribe } from './client.ts';
import { adviceFor, assertNever, handleTextToImage } from './errors.ts';
import { CreateTenant, GetTask, IssueApiKey, Me, TaskUpdated, TextToImage, TopUpCredits } from './operations.ts';

const url = process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000/graphql';
const adminToken = process.env.ADMIN_TOKEN;
if (!adminToken) throw new Error('set ADMIN_TOKEN (printed by `npm start`, kept in DATA_DIR/admin-token)');
const admin = httpClient(url, adminToken);

/** Admin: a new tenant with `credits` credits and a key for it. */
async function newTenant(name: string, credits: number): Promise<{ id: string; key: string }> {
  const created = (await admin(CreateTenant, { name })).createTenant;
  switch (created.__typename) {
    case 'MutationCreateTenantSuccess':
      break;
    case 'ValidationError':
      throw new Error(`createTenant: ${created.code} ${created.message}`);
    default:
      assertNever(created, 'createTenant result');
  }
  const tenant = created.data;
  console.log(`tenant created: ${tenant.name} (${tenant.id})`);

  if (credits > 0) {
    const topUp = (await admin(TopUpCredits, { tenantId: tenant.id, amount: credits, idempotencyKey: `initial-${tenant.id}` })).topUpCredits;
    switch (topUp.__typename) {
      case 'MutationTopUpCreditsSuccess':
        console.log(`credits topped up: ${topUp.data.amount}`);
        break;
      case 'ValidationError':
      case 'NotFoundError':
      case 'IdempotencyConflictError':
        throw new Error(`topUpCredits: ${topUp.code} ${topUp.message}`);
      default:
        assertNever(topUp, 'topUpCredits result');
    }
  }

  const issued = (await admin(IssueApiKey, { tenantId: tenant.id, name: 'typed-client' })).issueApiKey;
  switch (issued.__typename) {
    case 'MutationIssueApiKeySuccess':
      console.log(`key issued: ${issued.data.apiKey.id}`); // the secret is shown once: keep it, never log it
      return { id: tenant.id, key: issued.data.secret };
    case 'ValidationError':
    case 'NotFoundError':
      throw new Error(`issueApiKey: ${issued.code} ${issued.message}`);
    default:
      return assertNever(issued, 'issueApiKey result');
  }
}

/** Tenant: submit a generation and follow it over graphql-ws until it ends. */
async function generateAndFollow(key: string): Promise<void> {
  const tenant = httpClient(url, key);
  const { me } = await tenant(Me);
  console.log(`balance: ${me.balance.available} available, ${me.balance.held} held`);

  const outcome = handleTextToImage((await tenant(TextToImage, { prompt: 'a lighthouse at dusk', idempotencyKey: randomUUID() })).textToImage);
  if ('handled' in outcome) throw new Error(`textToImage refused: ${outcome.handled}`);
  console.log(`task submitted: ${outcome.task.id} (${outcome.task.status})`);

  const live = liveClient(url, key);
  try {
    // The current state at once, then every change; completes after SUCCESS or FAILED.
    for await (const { taskUpdated } of subscribe(live, TaskUpdated, { id: outcome.task.id })) {
      console.log(`live status: ${taskUpdated.status}`);
    }
  } finally {
    await live.dispose();
  }
  const { task } = await tenant(GetTask, { id: outcome.task.id });
  console.log(`task ended: ${task?.status}, ${task?.resultUrls.length ?? 0} result(s), ${task?.creditsCharged} credits charged`);
}

/** Errors: each one handled by its type, not by its message. */
async function provokeErrors(): Promise<void> {
  // A union member: a tenant with no credits.
  const broke = await newTenant(`typed-client-broke-${Date.now()}`, 0);
  const outcome = handleTextToImage((await httpClient(url, broke.key)(TextToImage, { prompt: 'anything' })).textToImage);
  if ('task' in outcome) throw new Error('a tenant without credits got a task');
  console.log(`business error handled: ${outcome.handled}`);

  // Top-level codes: a tenant key on an admin field; a key that does not exist.
  for (const [label, token, run] of [
    ['tenant key on createTenant', broke.key, (c: ReturnType<typeof httpClient>) => c(CreateTenant, { name: 'nope' })],
    ['unknown key on me', 'gk_not_a_real_key', (c: ReturnType<typeof httpClient>) => c(Me)],
  ] as const) {
    try {
      await run(httpClient(url, token));
      throw new Error(`${label}: expected an error`);
    } catch (error) {
      if (!(error instanceof GraphQLRequestError) || !error.code) throw error;
      console.log(`top-level error handled: ${label}: ${error.code} (HTTP ${error.status}): ${adviceFor(error.code)}`);
    }
  }

  // Over WebSocket a bad key closes the socket with 4403, which liveClient does not retry.
  let closes = 0;
  const live = liveClient(url, 'gk_not_a_real_key', () => closes++);
  try {
    for await (const _ of subscribe(live, TaskUpdated, { id: 'none' })) throw new Error('a bad key got an event');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    console.log(`websocket closed: ${String(code)} after ${closes} attempt(s), not retried`);
  } finally {
    await live.dispose();
  }
}

const { key } = await newTenant(`typed-client-${Date.now()}`, 100);
await generateAndFollow(key);
await provokeErrors();
console.log('done');
