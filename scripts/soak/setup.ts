// The soak's world before the faults start: tenants created, priced, given a
// webhook secret, a key and their first credits, all through the admin API.
import { post, type Union } from './client.ts';
import type { GatewayPool } from './gateways.ts';
import type { Load, Tenant, TopUpRecord } from './load.ts';
import type { WebhookReceiver } from './receiver.ts';

async function admin<T>(pool: GatewayPool, token: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const r = await post<{ r: Union<T> }>(pool.pickUrl(), query, variables, token);
  if (r.kind !== 'data') throw new Error(`setup: ${r.kind === 'error' ? `${r.code} ${r.message}` : r.message}`);
  if (!r.data.r.data) throw new Error(`setup: ${r.data.r.__typename} ${r.data.r.code} ${r.data.r.message}`);
  return r.data.r.data;
}

export interface SetupOptions {
  tenants: number;
  adminToken: string;
  initialCredits: number;
  leanCredits: number;
}

/** Creates the tenants; the last one is lean (it runs out of credits now and then). */
export async function setupTenants(pool: GatewayPool, receiver: WebhookReceiver, load: Load, o: SetupOptions): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  // A default price above upstream's cost for one model, and one tenant's own prices: charges differ from upstream spend.
  await admin(pool, o.adminToken, `mutation($i: SetPriceInput!) { r: setPrice(input: $i) { __typename ... on Error { code message } ... on MutationSetPriceSuccess { data { credits } } } }`, {
    i: { model: 'TEXT_TO_VIDEO', credits: 30 },
  });
  for (let index = 0; index < o.tenants; index++) {
    const lean = index === o.tenants - 1 && o.tenants > 1;
    const { id } = await admin<{ id: string }>(pool, o.adminToken, `mutation($i: CreateTenantInput!) { r: createTenant(input: $i) { __typename ... on Error { code message } ... on MutationCreateTenantSuccess { data { id } } } }`, {
      i: { name: `soak-${index}${lean ? '-lean' : ''}` },
    });
    const { secret } = await admin<{ secret: string }>(pool, o.adminToken, `mutation($i: RotateWebhookSecretInput!) { r: rotateWebhookSecret(input: $i) { __typename ... on Error { code message } ... on MutationRotateWebhookSecretSuccess { data { secret } } } }`, {
      i: { tenantId: id },
    });
    receiver.setSecret(index, secret);
    const issued = await admin<{ secret: string }>(pool, o.adminToken, `mutation($i: IssueApiKeyInput!) { r: issueApiKey(input: $i) { __typename ... on Error { code message } ... on MutationIssueApiKeySuccess { data { secret } } } }`, {
      i: { tenantId: id, name: 'soak' },
    });
    if (index === 1) {
      for (const [model, credits] of [['TEXT_TO_IMAGE', 7], ['UPSCALE', 15]] as const) {
        await admin(pool, o.adminToken, `mutation($i: SetPriceInput!) { r: setPrice(input: $i) { __typename ... on Error { code message } ... on MutationSetPriceSuccess { data { credits } } } }`, {
          i: { model, credits, tenantId: id },
        });
      }
    }
    const first: TopUpRecord = { tenant: index, tenantId: id, key: 'initial', amount: lean ? o.leanCredits : o.initialCredits, entryIds: new Set() };
    load.topUps.push(first);
    if (!(await load.topUp(first, Date.now() + 30_000))) throw new Error(`setup: the first top-up of tenant ${index} was not answered`);
    tenants.push({ index, id, key: issued.secret, lean, sources: { image: [], any: [] } });
  }
  return tenants;
}
