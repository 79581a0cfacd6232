import DataLoader from 'dataloader';
import type { ApiKey } from '../../generated/prisma/client.ts';
import { readBalances, type Balance } from '../../ledger/accounts.ts';
import type { Context } from '../../server/context.ts';
import { spentCredits } from '../../tasks/key-limits.ts';
import { builder } from '../builder.ts';

export const BalanceRef = builder.objectRef<Balance>('Balance').implement({
  description: 'Credits of a tenant: available to spend, and held for requests in flight',
  fields: (t) => ({
    available: t.exposeInt('available'),
    held: t.exposeInt('held'),
    low: t.exposeBoolean('low', { description: 'Available is below the low-balance threshold (setLowBalanceThreshold); never without one' }),
  }),
});

export const ApiKeyScopeEnum = builder.enumType('ApiKeyScope', {
  values: {
    GENERATE: { description: 'Start generations' },
    READ: { description: 'Read tasks, balance, prices, the ledger, usage; follow them live' },
    MANAGE_KEYS: { description: "Issue, revoke and rotate the tenant's keys; rotate its webhook secret" },
    WEBHOOKS: { description: 'Configure and inspect webhooks' },
  } as const,
});

export const CreditLimitPeriodEnum = builder.enumType('CreditLimitPeriod', {
  values: {
    DAY: { description: 'A UTC day' },
    MONTH: { description: 'A UTC calendar month' },
  } as const,
});

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  id: { field: 'id' },
  description: 'An API key. The secret itself is shown only once, when issued.',
  fields: (t) => ({
    name: t.exposeString('name', { nullable: true }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, to tell keys apart' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'Refused from then on; a rotated key ends at its grace' }),
    scopes: t.field({ type: [ApiKeyScopeEnum], resolve: (key) => key.scopes }),
    rotatedFrom: t.relation('rotatedFrom', { nullable: true, description: 'The key this one replaced' }),
    creditLimit: t.int({
      nullable: true,
      description: 'Credits per period through this key and the keys sharing its limit (its rotations, the keys it issued); null: none',
      select: { creditLimit: { select: { credits: true } } },
      resolve: (key) => key.creditLimit?.credits ?? null,
    }),
    creditLimitPeriod: t.field({
      type: CreditLimitPeriodEnum,
      nullable: true,
      select: { creditLimit: { select: { period: true } } },
      resolve: (key) => key.creditLimit?.period ?? null,
    }),
    creditLimitSpent: t.int({
      nullable: true,
      description: 'Credits counted against the limit in the current window (held or charged; given back when a task fails)',
      select: { creditLimit: { select: { credits: true, period: true, windowStart: true, spent: true } } },
      resolve: (key) => (key.creditLimit ? spentCredits(key.creditLimit, new Date()) : null),
    }),
  }),
});

export const TenantStatusEnum = builder.enumType('TenantStatus', {
  values: {
    ACTIVE: { description: 'Generates, reads and follows its tasks' },
    SUSPENDED: { description: 'Starts no generation (TENANT_SUSPENDED); reads, live status and tasks in flight go on' },
  } as const,
});

/**
 * The balances asked for in one operation, read together in one statement
 * (a page of tenants is one read, not one per tenant). Made on the first
 * balance an operation asks for; it batches only and caches nothing, so an
 * operation that lives for hours (a subscription) never reads an old one.
 */
const balanceLoaders = new WeakMap<Context, DataLoader<string, Balance>>();
function balanceLoader(ctx: Context): DataLoader<string, Balance> {
  let loader = balanceLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader((tenantIds) => readBalances(ctx.db, tenantIds), { cache: false });
    balanceLoaders.set(ctx, loader);
  }
  return loader;
}

export const TenantRef = builder.prismaNode('Tenant', {
  id: { field: 'id' },
  fields: (t) => ({
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    status: t.field({ type: TenantStatusEnum, resolve: (tenant) => tenant.status }),
    suspendedReason: t.exposeString('suspendedReason', { nullable: true }),
    suspendedAt: t.expose('suspendedAt', { type: 'DateTime', nullable: true }),
    balance: t.field({
      type: BalanceRef,
      resolve: (tenant, _args, ctx) => balanceLoader(ctx).load(tenant.id),
    }),
    apiKeys: t.relation('apiKeys', { query: { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] } }),
  }),
});

/** The one connection type of every list of tenants. */
export const TenantConnectionRef = builder.connectionObject({ type: TenantRef, name: 'TenantConnection' }, { name: 'TenantEdge' });

export const IssuedApiKeyRef = builder
  .objectRef<{ apiKey: ApiKey; secret: string }>('IssuedApiKey')
  .implement({
    fields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (issued) => issued.apiKey }),
      secret: t.exposeString('secret', { description: 'The key itself. Store it now: it cannot be shown again.' }),
    }),
  });

export const RotatedApiKeyRef = builder
  .objectRef<{ apiKey: ApiKey; secret: string; oldKeyExpiresAt: Date }>('RotatedApiKey')
  .implement({
    fields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (rotated) => rotated.apiKey }),
      secret: t.exposeString('secret', { description: 'The new key itself. Store it now: it cannot be shown again.' }),
      oldKeyExpiresAt: t.expose('oldKeyExpiresAt', { type: 'DateTime', description: 'When the old secret stops working' }),
    }),
  });
